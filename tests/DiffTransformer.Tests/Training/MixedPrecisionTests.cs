using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Training;

public sealed class MixedPrecisionTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void BFloat16TrainingFollowsFloat32AndKeepsFloat32Masters()
    {
        using var data = new TokenBatches(Corpus.Bytes(), batchSize: 4, time: 32, seed: 3);
        var options = new TrainingOptions { Steps = 30, WarmupSteps = 3, LearningRate = 1e-2, MinLearningRate = 1e-3 };
        var losses = new Dictionary<TrainingPrecision, (double Initial, double Final, double[] Train)>();
        foreach (var precision in new[] { TrainingPrecision.Float32, TrainingPrecision.BFloat16 })
        {
            manual_seed(21);
            using var model = new DiffTransformerLM(Corpus.ByteConfig());
            using var trainer = new Trainer(model, data, options with { Precision = precision });
            double initial = trainer.Evaluate().Loss;
            var train = trainer.Run(cancellationToken: TestContext.Current.CancellationToken).Select(r => r.Loss).ToArray();
            losses[precision] = (initial, trainer.Evaluate().Loss, train);
            if (precision != TrainingPrecision.BFloat16) continue;

            Assert.All(model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
            string directory = Path.Combine(temp.Path, "bf16");
            trainer.SaveCheckpoint(directory);
            var masters = Safetensors.Load(Path.Combine(directory, "model.safetensors"));
            foreach (var (key, value) in model.state_dict())
            {
                Assert.Equal(ScalarType.Float32, masters[key].dtype);
                Assert.True(Bits.Same(masters[key].to(ScalarType.BFloat16), value), $"{key}: the model is not its master rounded to bfloat16");
            }
        }
        var (f32, bf16) = (losses[TrainingPrecision.Float32], losses[TrainingPrecision.BFloat16]);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"validation loss float32 {f32.Initial:F4} -> {f32.Final:F4}, bfloat16 {bf16.Initial:F4} -> {bf16.Final:F4}; " +
            $"largest training-loss gap {f32.Train.Zip(bf16.Train).Max(p => Math.Abs(p.First - p.Second)):F4}");
        Assert.Equal(f32.Initial, bf16.Initial, tolerance: 0.05); // same initial model, evaluated in each precision
        Assert.True(bf16.Final < bf16.Initial - 1.5, $"bfloat16 validation loss went from {bf16.Initial:F3} to {bf16.Final:F3}");
        Assert.True(Math.Abs(bf16.Final - f32.Final) < 0.15,
            $"bfloat16 final validation loss {bf16.Final:F3} is far from float32's {f32.Final:F3}");
    }

    [Fact]
    public void MastersKeepUpdatesSmallerThanABFloat16Step()
    {
        // RMSNorm weights start at 1.0, where bfloat16 steps by 2^-7 = 0.0078. Ten AdamW updates of about 1e-4 each
        // vanish in bfloat16 but add up in the float32 masters.
        using var data = new TokenBatches(Corpus.Bytes(), batchSize: 2, time: 16, seed: 3);
        manual_seed(22);
        using var model = new DiffTransformerLM(Corpus.ByteConfig());
        var options = new TrainingOptions { Steps = 10, WarmupSteps = 0, LearningRate = 1e-4, MinLearningRate = 1e-4, Precision = TrainingPrecision.BFloat16 };
        using var trainer = new Trainer(model, data, options);
        trainer.Run(cancellationToken: TestContext.Current.CancellationToken);
        string directory = Path.Combine(temp.Path, "m");
        trainer.SaveCheckpoint(directory);
        var masters = Safetensors.Load(Path.Combine(directory, "model.safetensors"));
        var master = masters["norm.weight"];
        double moved = (master - 1).abs().max().item<float>();
        TestContext.Current.TestOutputHelper?.WriteLine($"largest master move of norm.weight: {moved:E2}");
        Assert.InRange(moved, 1e-4, 2e-3);                                   // the masters moved by about 10 updates
        Assert.True(Bits.Same(model.state_dict()["norm.weight"], ones(master.shape, ScalarType.BFloat16)), "rounded weights are still exactly 1");
    }

    [Fact]
    public void MicroBatchGradientsAreSummedInFloat32()
    {
        // 1 + 2^-9 is not a bfloat16 number (8 significant bits): summed in bfloat16 the second gradient would vanish.
        using var layer = nn.Linear(2, 1, hasBias: false);
        var full = new Dictionary<string, Tensor> { ["weight"] = layer.weight!.detach().clone() };
        layer.to(ScalarType.BFloat16);
        using var masters = new MasterWeights(layer, full);
        var weight = layer.get_parameter("weight")!;
        foreach (var (value, first) in new[] { (1.0, true), (Math.Pow(2, -9), false), (Math.Pow(2, -9), false) })
        {
            using (no_grad()) weight.grad = full_like(weight, value);
            masters.AccumulateGradients(first);
            Assert.Equal(0, weight.grad!.abs().sum().to(ScalarType.Float32).item<float>()); // the model's gradients are cleared for the next micro-batch
        }
        var sum = masters.Named.Single().Parameter.grad!;
        Assert.Equal(ScalarType.Float32, sum.dtype);
        Assert.All(sum.data<float>().ToArray(), g => Assert.Equal(1 + 2 * Math.Pow(2, -9), g));

        // A new step starts afresh.
        using (no_grad()) weight.grad = full_like(weight, 0.5);
        masters.AccumulateGradients(first: true);
        Assert.All(sum.data<float>().ToArray(), g => Assert.Equal(0.5, g));
    }
}
