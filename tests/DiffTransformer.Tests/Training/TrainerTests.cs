using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Training;

public sealed class TrainerTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void ShortRunOnAByteCorpusLowersValidationLoss()
    {
        manual_seed(1);
        using var model = new DiffTransformerLM(Corpus.ByteConfig());
        using var data = new TokenBatches(Corpus.Bytes(), batchSize: 4, time: 32, validationFraction: 0.1, seed: 3);
        var options = new TrainingOptions { Steps = 40, WarmupSteps = 5, LearningRate = 1e-2, MinLearningRate = 1e-3, EvaluationInterval = 20 };
        using var trainer = new Trainer(model, data, options);
        double initial = trainer.Evaluate().Loss;

        var reports = new List<TrainingProgress>();
        var history = trainer.Run(new Collect(reports), TestContext.Current.CancellationToken);

        double final = history[^1].Validation!.Value.Loss;
        TestContext.Current.TestOutputHelper?.WriteLine($"validation loss {initial:F3} -> {final:F3} in 40 steps");
        Assert.True(final < initial - 1.5, $"validation loss went from {initial:F3} to {final:F3}");
        Assert.Equal(history, reports);
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), history.Select(r => r.Step));
        Assert.Equal(new long[] { 20, 40 }, history.Where(r => r.Validation is not null).Select(r => r.Step));
        for (int i = 0; i < history.Count; i++)
        {
            Assert.Equal(trainer.Schedule.LearningRateAt(i), history[i].LearningRate, 15);
            Assert.Equal((i + 1) * 4L * 32, history[i].Tokens);
            Assert.True(history[i].TokensPerSecond > 0 && history[i].GradientNorm > 0 && double.IsFinite(history[i].Loss));
        }
        Assert.Equal(40, trainer.CompletedSteps);
        Assert.Empty(trainer.Run(cancellationToken: TestContext.Current.CancellationToken)); // nothing left to do
    }

    [Fact]
    public void AccumulatedMicroBatchesEqualOneBigBatch()
    {
        manual_seed(2);
        var tokens = randint(0, 256, new long[] { 4, 17 });
        using var small = new FixedBatches(tokens.narrow(0, 0, 2), tokens.narrow(0, 2, 2));
        using var big = new FixedBatches(tokens);
        // Epsilon 1e-3: Adam's first update is lr * g / (|g| + eps), nearly lr * sign(g) at the default 1e-8, so a gradient
        // element near zero whose rounding differs between the two batchings would flip a whole learning rate; at 1e-3 the
        // update is smooth in g and the weights compare the gradients.
        var options = new TrainingOptions { Steps = 1, WarmupSteps = 0, LearningRate = 1e-2, MaxGradientNorm = 0.5, Epsilon = 1e-3 };

        manual_seed(3);
        using var a = new DiffTransformerLM(Corpus.ByteConfig());
        manual_seed(3);
        using var b = new DiffTransformerLM(Corpus.ByteConfig());
        using var accumulated = new Trainer(a, small, options with { GradientAccumulationSteps = 2 });
        using var single = new Trainer(b, big, options);
        var r1 = accumulated.Step();
        var r2 = single.Step();

        Assert.Equal(r2.Loss, r1.Loss, 5);
        Assert.Equal(r2.GradientNorm, r1.GradientNorm, 5);
        Assert.Equal(r2.Tokens, r1.Tokens);
        foreach (var (key, value) in a.state_dict())
            Assert.True(value.allclose(b.state_dict()[key], rtol: 1e-4, atol: 1e-6), key);
    }

    [Theory]
    [InlineData(TrainingPrecision.Float32)]
    [InlineData(TrainingPrecision.BFloat16)]
    public void ResumedRunContinuesWithTheSameLosses(TrainingPrecision precision)
    {
        var options = new TrainingOptions { Steps = 8, WarmupSteps = 2, LearningRate = 5e-3, GradientAccumulationSteps = 2, Precision = precision };
        using var data = new TokenBatches(Corpus.Bytes(), batchSize: 4, time: 16, seed: 5);

        manual_seed(10);
        using var model = new DiffTransformerLM(Corpus.ByteConfig());
        using var trainer = new Trainer(model, data, options);
        var uninterrupted = new List<double>();
        var randomAfterCheckpoint = new List<float>();
        string directory = Path.Combine(temp.Path, "ckpt");
        TimeSpan elapsedAtCheckpoint = default;
        for (int i = 0; i < 8; i++)
        {
            if (i == 4)
            {
                trainer.SaveCheckpoint(directory);
                elapsedAtCheckpoint = trainer.Elapsed;
                randomAfterCheckpoint.Add(rand(1).item<float>()); // user code drawing random numbers between steps
            }
            uninterrupted.Add(trainer.Step().Loss);
        }

        manual_seed(99); // a different initialisation and random state, all replaced by the checkpoint
        using var fresh = new DiffTransformerLM(Corpus.ByteConfig());
        using var resumed = new Trainer(fresh, data, options);
        resumed.LoadCheckpoint(directory);
        Assert.Equal(4, resumed.CompletedSteps);
        Assert.Equal(4 * 2 * 4 * 16, resumed.Tokens); // steps x accumulation x batch x time
        Assert.Equal(elapsedAtCheckpoint.TotalSeconds, resumed.Elapsed.TotalSeconds, 3);
        Assert.True(elapsedAtCheckpoint > TimeSpan.Zero);
        Assert.Equal(rand(1).item<float>(), randomAfterCheckpoint[0]);
        var continued = new List<double>();
        for (int i = 4; i < 8; i++) continued.Add(resumed.Step().Loss);
        Assert.Equal(uninterrupted.Skip(4), continued); // bit for bit
        Assert.Equal(trainer.Tokens, resumed.Tokens);
        foreach (var (key, value) in model.state_dict()) Assert.True(Bits.Same(value, fresh.state_dict()[key]), key);
    }

    [Fact]
    public void ResumingWithoutTheOptimizerStateWouldNotMatch()
    {
        // The control for the test above: the same checkpoint with its AdamW moments zeroed does not reproduce the run.
        var options = new TrainingOptions { Steps = 6, WarmupSteps = 1, LearningRate = 5e-3 };
        using var data = new TokenBatches(Corpus.Bytes(), batchSize: 4, time: 16, seed: 5);
        manual_seed(10);
        using var model = new DiffTransformerLM(Corpus.ByteConfig());
        using var trainer = new Trainer(model, data, options);
        for (int i = 0; i < 3; i++) trainer.Step();
        string directory = Path.Combine(temp.Path, "ckpt");
        trainer.SaveCheckpoint(directory);
        double fourth = trainer.Step().Loss, fifth = trainer.Step().Loss;

        string optimizerPath = Path.Combine(directory, "optimizer.safetensors");
        var state = Safetensors.Load(optimizerPath);
        foreach (var (key, value) in state)
            if (key.EndsWith(".exp_avg") || key.EndsWith(".exp_avg_sq")) value.zero_();
        Safetensors.Save(optimizerPath, state);

        using var fresh = new DiffTransformerLM(Corpus.ByteConfig());
        using var restarted = new Trainer(fresh, data, options);
        restarted.LoadCheckpoint(directory);
        Assert.Equal(fourth, restarted.Step().Loss); // computed from the restored weights
        Assert.NotEqual(fifth, restarted.Step().Loss); // computed after an update that needed the moments
    }

    [Fact]
    public void FailedResumeLeavesTheTrainerUnchanged()
    {
        var options = new TrainingOptions { Steps = 4, WarmupSteps = 1 };
        using var data = new TokenBatches(Corpus.Bytes(), batchSize: 2, time: 16, seed: 5);
        manual_seed(1);
        using var model = new DiffTransformerLM(Corpus.ByteConfig());
        using var trainer = new Trainer(model, data, options);
        trainer.Step();
        string directory = Path.Combine(temp.Path, "ckpt");
        trainer.SaveCheckpoint(directory);

        manual_seed(2);
        using var other = new DiffTransformerLM(Corpus.ByteConfig());
        using var target = new Trainer(other, data, options);
        var before = other.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());

        // A damaged optimizer file: one moment missing and one of the wrong shape, both reported, nothing changed.
        string optimizerPath = Path.Combine(directory, "optimizer.safetensors");
        var state = Safetensors.Load(optimizerPath);
        state.Remove("norm.weight.exp_avg");
        state["lm_head.weight.exp_avg_sq"] = zeros(2, 2);
        Safetensors.Save(optimizerPath, state);
        var error = Assert.Throws<CheckpointMismatchException>(() => target.LoadCheckpoint(directory));
        Assert.Contains("norm.weight.exp_avg", error.Report.Missing);
        Assert.Equal("lm_head.weight.exp_avg_sq", Assert.Single(error.Report.Mismatched).Key);
        Assert.Equal(0, target.CompletedSteps);
        foreach (var (key, value) in other.state_dict()) Assert.True(Bits.Same(value, before[key]), key);

        // A truncated weights file.
        string weightsPath = Path.Combine(directory, "model.safetensors");
        byte[] bytes = File.ReadAllBytes(weightsPath);
        File.WriteAllBytes(weightsPath, bytes[..(bytes.Length / 2)]);
        Assert.Throws<InvalidDataException>(() => target.LoadCheckpoint(directory));
        Assert.Equal(0, target.CompletedSteps);

        // Other options.
        using var changed = new Trainer(model, data, options with { LearningRate = 0.5 });
        trainer.SaveCheckpoint(directory);
        var optionsError = Assert.Throws<ArgumentException>(() => changed.LoadCheckpoint(directory));
        Assert.Contains("allowChangedOptions", optionsError.Message);
        changed.LoadCheckpoint(directory, allowChangedOptions: true);
        Assert.Equal(1, changed.CompletedSteps);
    }

    [Theory]
    [InlineData("{ broken", "not a valid trainer state")]
    [InlineData("{\"completed_steps\": 1, \"tokens\": 1, \"elapsed_seconds\": 0, \"format_version\": 1}", "'options'")]
    [InlineData("{\"completed_steps\": 1, \"tokens\": 1, \"elapsed_seconds\": 0, \"format_version\": 1, \"options\": null}", "options present")]
    [InlineData("+surprise", "'surprise'")] // the saved state, valid but for one unknown key
    [InlineData("!utf8", "not valid UTF-8")]   // the saved state with two bytes that are not UTF-8 in a string
    public void DamagedTrainerStateIsRejected(string json, string expected)
    {
        using var data = new TokenBatches(Corpus.Bytes(), batchSize: 2, time: 16, seed: 5);
        using var model = new DiffTransformerLM(Corpus.ByteConfig());
        using var trainer = new Trainer(model, data, new TrainingOptions { Steps = 2, WarmupSteps = 1 });
        string directory = Path.Combine(temp.Path, "ckpt");
        trainer.SaveCheckpoint(directory);
        string statePath = Path.Combine(directory, "trainer_state.json");
        if (json.StartsWith('+'))
        {
            var state = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(statePath))!.AsObject();
            state[json[1..]] = 1;
            json = state.ToJsonString();
        }
        if (json == "!utf8")
        {
            byte[] bytes = File.ReadAllBytes(statePath);
            int at = bytes.AsSpan().IndexOf("\"float32\""u8) + 1;
            Assert.True(at > 0, "the saved state names its precision");
            (bytes[at], bytes[at + 1]) = (0xFF, 0xFE);
            File.WriteAllBytes(statePath, bytes);
        }
        else File.WriteAllText(statePath, json);
        var error = Assert.Throws<InvalidDataException>(() => trainer.LoadCheckpoint(directory));
        Assert.Contains(expected, error.Message);
        using var other = new DiffTransformerLM(Corpus.ByteConfig(AttentionKind.Softmax));
        using var otherTrainer = new Trainer(other, data, new TrainingOptions { Steps = 2, WarmupSteps = 1 });
        Assert.Contains("different configuration", Assert.Throws<ArgumentException>(() => otherTrainer.LoadCheckpoint(directory)).Message);
    }

    [Fact]
    public void TrainingCheckpointIsAlsoAModelCheckpoint()
    {
        using var data = new TokenBatches(Corpus.Bytes(), batchSize: 2, time: 16, seed: 5);
        manual_seed(1);
        using var model = new DiffTransformerLM(Corpus.ByteConfig());
        using var trainer = new Trainer(model, data, new TrainingOptions { Steps = 2, WarmupSteps = 1 });
        trainer.Step();
        string directory = Path.Combine(temp.Path, "ckpt");
        trainer.SaveCheckpoint(directory, new Dictionary<string, string> { ["tokenizer"] = "bytes" });
        Assert.Equal(new[] { "config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json" },
            Directory.GetFiles(directory).Select(Path.GetFileName).Order());
        using var loaded = ModelCheckpoint.Load(directory);
        foreach (var (key, value) in model.state_dict()) Assert.True(Bits.Same(value, loaded.state_dict()[key]), key);
        Assert.Equal("bytes", ModelCheckpoint.ReadMetadata(directory)["tokenizer"]);
    }

    [Fact]
    public void BadTrainerArgumentsAreNamed()
    {
        using var data = new TokenBatches(Corpus.Bytes(), batchSize: 2, time: 16);
        using var model = new DiffTransformerLM(Corpus.ByteConfig());
        Assert.Equal("GradientAccumulationSteps",
            Assert.ThrowsAny<ArgumentException>(() => new Trainer(model, data, new TrainingOptions { GradientAccumulationSteps = 0 })).ParamName);
        Assert.Equal("MaxGradientNorm",
            Assert.ThrowsAny<ArgumentException>(() => new Trainer(model, data, new TrainingOptions { MaxGradientNorm = double.NaN })).ParamName);
        model.to(ScalarType.Float64);
        Assert.Equal("model", Assert.Throws<ArgumentException>(() => new Trainer(model, data)).ParamName);
    }

    [Fact]
    public void CancellationStopsBetweenSteps()
    {
        using var data = new TokenBatches(Corpus.Bytes(), batchSize: 2, time: 16);
        using var model = new DiffTransformerLM(Corpus.ByteConfig());
        using var trainer = new Trainer(model, data, new TrainingOptions { Steps = 100, WarmupSteps = 1 });
        using var cancel = new CancellationTokenSource();
        var progress = new Collect(new List<TrainingProgress>(), report => { if (report.Step == 3) cancel.Cancel(); });
        Assert.Throws<OperationCanceledException>(() => trainer.Run(progress, cancel.Token));
        Assert.Equal(3, trainer.CompletedSteps);
    }

    /// <summary>Reports on the calling thread, unlike <see cref="Progress{T}"/>.</summary>
    private sealed class Collect(List<TrainingProgress> list, Action<TrainingProgress>? then = null) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            list.Add(value);
            then?.Invoke(value);
        }
    }

    /// <summary>Training batch i is the i-th of the given token blocks (rows of time + 1 tokens), cycling.</summary>
    private sealed class FixedBatches(params Tensor[] blocks) : ITrainingData, IDisposable
    {
        public TrainingBatch GetTrainingBatch(long index, Device device)
        {
            var block = blocks[index % blocks.Length];
            long time = block.shape[1] - 1;
            return new TrainingBatch(block.narrow(1, 0, time).to(device).contiguous(), block.narrow(1, 1, time).to(device).contiguous());
        }

        public IEnumerable<TrainingBatch> GetValidationBatches(Device device) => new[] { GetTrainingBatch(0, device) };

        public void Dispose()
        {
            foreach (var b in blocks) b.Dispose();
        }
    }
}
