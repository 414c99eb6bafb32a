using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Training;

/// <summary>Failures part-way through loading a checkpoint or a step leave the trainer as it was.</summary>
public sealed class TrainerRecoveryTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Theory]
    [InlineData("zeroed")]
    [InlineData("left out of range")]
    public void CorruptRandomStateFailsBeforeAnythingIsLoaded(string damage)
    {
        var options = new TrainingOptions { Steps = 4, WarmupSteps = 1 };
        using var data = new TokenBatches(Corpus.Bytes(), batchSize: 2, time: 16, seed: 5);
        string directory = SaveAfterSteps(data, options, steps: 2);

        string optimizerPath = Path.Combine(directory, "optimizer.safetensors");
        var state = Safetensors.Load(optimizerPath);
        var blob = state["rng.torch_cpu"];
        if (damage == "zeroed") blob.zero_();
        else blob.narrow(0, 8, 4).fill_(255); // the mt19937 'left' counter (int32 after the 64-bit seed) becomes -1
        Safetensors.Save(optimizerPath, state);

        manual_seed(2);
        using var other = new DiffTransformerLM(Corpus.ByteConfig());
        using var target = new Trainer(other, data, options);
        target.Step();
        var weights = Snapshot(other.state_dict());
        var moments = Snapshot(Moments(target.Optimizer));
        using var random = torch.random.get_rng_state();

        var error = Assert.Throws<InvalidDataException>(() => target.LoadCheckpoint(directory));
        Assert.Contains("rng.torch_cpu", error.Message);
        Assert.Equal(1, target.CompletedSteps);
        foreach (var (key, value) in other.state_dict()) Assert.True(Bits.Same(value, weights[key]), key);
        foreach (var (key, value) in Moments(target.Optimizer)) Assert.True(Bits.Same(value, moments[key]), key);
        Assert.All(target.Optimizer.state_dict().State.Cast<TorchSharp.Modules.AdamW.State>(), s => Assert.Equal(1, s.step));
        Assert.True(Bits.Same(random, torch.random.get_rng_state()));
    }

    [Fact]
    public void AStepThatFailedAfterABackwardLeavesNoGradientBehind()
    {
        var options = new TrainingOptions { Steps = 2, WarmupSteps = 0, LearningRate = 1e-2, GradientAccumulationSteps = 2 };
        using var data = new TokenBatches(Corpus.Bytes(), batchSize: 2, time: 16, seed: 5);
        var failing = new FailOnce(data, failAt: 1); // the second micro-batch of the first step
        manual_seed(3);
        using var a = new DiffTransformerLM(Corpus.ByteConfig());
        manual_seed(3);
        using var b = new DiffTransformerLM(Corpus.ByteConfig());
        using var recovered = new Trainer(a, failing, options);
        using var fresh = new Trainer(b, data, options);

        Assert.Throws<IOException>(() => recovered.Step());
        Assert.Equal(0, recovered.CompletedSteps);
        var r1 = recovered.Step();
        var r2 = fresh.Step();

        Assert.Equal(r2.Loss, r1.Loss);
        Assert.Equal(r2.GradientNorm, r1.GradientNorm);
        foreach (var (key, value) in a.state_dict()) Assert.True(Bits.Same(value, b.state_dict()[key]), key);
    }

    [Theory]
    [InlineData("format_version")]
    [InlineData("completed_steps")]
    [InlineData("options.beta1")]
    [InlineData("options.max_gradient_norm")]
    public void TrainerStateWithAMissingFieldIsRejected(string field)
    {
        var options = new TrainingOptions { Steps = 4, WarmupSteps = 1 };
        using var data = new TokenBatches(Corpus.Bytes(), batchSize: 2, time: 16, seed: 5);
        string directory = SaveAfterSteps(data, options, steps: 1);
        string statePath = Path.Combine(directory, "trainer_state.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(statePath))!.AsObject();
        string[] path = field.Split('.');
        var owner = path.Length == 1 ? json : json[path[0]]!.AsObject();
        Assert.True(owner.Remove(path[^1]), field);
        File.WriteAllText(statePath, json.ToJsonString());

        manual_seed(2);
        using var other = new DiffTransformerLM(Corpus.ByteConfig());
        using var target = new Trainer(other, data, options);
        var weights = Snapshot(other.state_dict());
        var error = Assert.Throws<InvalidDataException>(() => target.LoadCheckpoint(directory));
        Assert.Contains("not a valid trainer state", error.Message);
        Assert.Contains($"'{path[^1]}'", error.Message);
        Assert.Equal(0, target.CompletedSteps);
        foreach (var (key, value) in other.state_dict()) Assert.True(Bits.Same(value, weights[key]), key);
    }

    [Theory]
    [InlineData(1e300)] // TimeSpan.FromSeconds threw OverflowException in LoadCheckpoint (fuzz/findings/trainer-state)
    [InlineData(-1.0)]
    public void TrainerStateWithAnImpossibleElapsedTimeIsRejected(double elapsed)
    {
        var options = new TrainingOptions { Steps = 4, WarmupSteps = 1 };
        using var data = new TokenBatches(Corpus.Bytes(), batchSize: 2, time: 16, seed: 5);
        string directory = SaveAfterSteps(data, options, steps: 1);
        string statePath = Path.Combine(directory, "trainer_state.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(statePath))!.AsObject();
        json["elapsed_seconds"] = elapsed;
        File.WriteAllText(statePath, json.ToJsonString());

        manual_seed(2);
        using var other = new DiffTransformerLM(Corpus.ByteConfig());
        using var target = new Trainer(other, data, options);
        var error = Assert.Throws<InvalidDataException>(() => target.LoadCheckpoint(directory));
        Assert.Contains(statePath, error.Message);
        Assert.Contains($"elapsed_seconds must lie in [0, 1e10]; it is {elapsed:R}", error.Message);
        Assert.Equal(0, target.CompletedSteps);
    }

    /// <summary>Trains a seeded model <paramref name="steps"/> steps and saves its training checkpoint; returns the directory.</summary>
    private string SaveAfterSteps(ITrainingData data, TrainingOptions options, int steps)
    {
        manual_seed(1);
        using var model = new DiffTransformerLM(Corpus.ByteConfig());
        using var trainer = new Trainer(model, data, options);
        for (int i = 0; i < steps; i++) trainer.Step();
        string directory = Path.Combine(temp.Path, "ckpt");
        trainer.SaveCheckpoint(directory);
        return directory;
    }

    private static Dictionary<string, Tensor> Moments(TorchSharp.Modules.AdamW optimizer)
    {
        var result = new Dictionary<string, Tensor>();
        var states = optimizer.state_dict().State.Cast<TorchSharp.Modules.AdamW.State>().ToArray();
        for (int i = 0; i < states.Length; i++)
        {
            result[$"{i}.exp_avg"] = states[i].exp_avg;
            result[$"{i}.exp_avg_sq"] = states[i].exp_avg_sq;
        }
        return result;
    }

    private static Dictionary<string, Tensor> Snapshot(Dictionary<string, Tensor> tensors) =>
        tensors.ToDictionary(p => p.Key, p => p.Value.detach().clone());

    /// <summary>Batches of <paramref name="inner"/>, except that fetching batch <paramref name="failAt"/> throws the first time.</summary>
    private sealed class FailOnce(ITrainingData inner, long failAt) : ITrainingData
    {
        private bool failed;

        public TrainingBatch GetTrainingBatch(long index, Device device)
        {
            if (index == failAt && !failed)
            {
                failed = true;
                throw new IOException("the data source failed once");
            }
            return inner.GetTrainingBatch(index, device);
        }

        public IEnumerable<TrainingBatch> GetValidationBatches(Device device) => inner.GetValidationBatches(device);
    }
}
