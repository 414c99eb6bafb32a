using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Training;

/// <summary>The trainer's AdamW update (Scalars kept alive) is TorchSharp's <see cref="AdamW.step"/> bit for bit.</summary>
public sealed class AdamWUpdateTests
{
    [Fact]
    public void MatchesTorchSharpsStepBitForBit()
    {
        var options = new TrainingOptions { LearningRate = 3e-3, WeightDecay = 0.1, Beta1 = 0.85, Beta2 = 0.97, Epsilon = 1e-7 };
        manual_seed(6);
        using var a = new DiffTransformerLM(Corpus.ByteConfig());
        manual_seed(6);
        using var b = new DiffTransformerLM(Corpus.ByteConfig());
        using var ours = ParameterGroups.CreateAdamW(ParameterGroups.Split(a), options);
        using var theirs = ParameterGroups.CreateAdamW(ParameterGroups.Split(b), options);
        manual_seed(7);
        var tokens = randint(0, 256, new long[] { 2, 17 });
        for (int step = 0; step < 3; step++)
        {
            foreach (var (model, optimizer) in new[] { (a, ours), (b, theirs) })
            {
                model.zero_grad();
                model.Loss(tokens.narrow(1, 0, 16), tokens.narrow(1, 1, 16)).backward();
                if (ReferenceEquals(optimizer, ours)) AdamWUpdate.Step(optimizer);
                else optimizer.step();
            }
        }
        foreach (var (key, value) in a.state_dict()) Assert.True(Bits.Same(value, b.state_dict()[key]), key);
        var x = ours.state_dict().State.Cast<AdamW.State>().ToArray();
        var y = theirs.state_dict().State.Cast<AdamW.State>().ToArray();
        Assert.Equal(y.Length, x.Length);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.Equal(y[i].step, x[i].step);
            Assert.True(Bits.Same(x[i].exp_avg, y[i].exp_avg) && Bits.Same(x[i].exp_avg_sq, y[i].exp_avg_sq), $"state {i}");
        }
    }
}
