using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiffTransformer.Training;

/// <summary>A module's trainable parameters split by whether they get weight decay.</summary>
/// <param name="Decay">Matrices: decayed.</param>
/// <param name="NoDecay">Vectors and embedding tables: not decayed.</param>
public sealed record ParameterSplit(IReadOnlyList<(string Name, Parameter Parameter)> Decay, IReadOnlyList<(string Name, Parameter Parameter)> NoDecay)
{
    /// <summary>Both lists, decayed first: the order of the optimizer's parameters.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> All => Decay.Concat(NoDecay);
}
