using DiffTransformer.Tests.Checkpoints.HuggingFace;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.HuggingFace;

/// <summary>
/// A golden Hugging Face case (fixtures/golden-hf): the checkpoint and what transformers' own modeling code computed on
/// it (<c>golden.safetensors</c>: left-padded <c>input_ids</c> and <c>attention_mask</c>, <c>logits</c> in float32,
/// <c>logits_f64_pure</c> in float64, 8 <c>greedy</c> tokens).
/// </summary>
internal sealed class HuggingFaceGolden : IDisposable
{
    private readonly Dictionary<string, Tensor> tensors;

    private HuggingFaceGolden(string name)
    {
        Name = name;
        Directory = HuggingFaceFixtures.Directory(name);
        tensors = Safetensors.Load(Path.Combine(Directory, "golden.safetensors"));
    }

    public static HuggingFaceGolden Load(string name) => new(name);

    public string Name { get; }

    public string Directory { get; }

    public Tensor InputIds => tensors["input_ids"];

    public Tensor AttentionMask => tensors["attention_mask"];

    public Tensor Logits => tensors["logits"];

    public Tensor LogitsFloat64 => tensors["logits_f64_pure"];

    public Tensor Greedy => tensors["greedy"];

    /// <summary>The rows of <paramref name="logits"/> <c>[B, T, V]</c> at real (unpadded) positions: <c>[N, V]</c>.</summary>
    public Tensor RealPositions(Tensor logits) => logits[TensorIndex.Tensor(AttentionMask.to(ScalarType.Bool))];

    public void Dispose()
    {
        foreach (var t in tensors.Values) t.Dispose();
    }
}
