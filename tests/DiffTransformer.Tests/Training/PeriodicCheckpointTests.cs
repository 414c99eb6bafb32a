using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Training;

/// <summary>
/// <see cref="Trainer.Run"/>'s periodic checkpoints (<c>checkpoint-STEP</c>, the newest kept), resuming from the newest,
/// and the trainer state's format versions. Killing a run is tested by <see cref="PeriodicCheckpointKillTests"/>.
/// </summary>
public sealed class PeriodicCheckpointTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    private string Directory => temp.File("run");

    private TrainingOptions Options(int? kept = 2) =>
        new() { Steps = 7, WarmupSteps = 1, LearningRate = 1e-2, CheckpointDirectory = Directory, CheckpointInterval = 2, CheckpointsKept = kept };

    [Fact]
    public void RunSavesEveryIntervalAndAfterTheLastStepKeepingTheNewest()
    {
        using var data = Data();
        using var model = Model(1);
        using var trainer = new Trainer(model, data, Options());
        Assert.Null(trainer.ResumeFromLatestCheckpoint()); // nothing there yet
        var history = trainer.Run(cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(new long[] { 2, 4, 6, 7 }, history.Where(r => r.Checkpoint is not null).Select(r => r.Step));
        Assert.Equal(Path.Combine(Directory, "checkpoint-7"), history[^1].Checkpoint);
        Assert.Equal(new[] { "checkpoint-6", "checkpoint-7" }, Entries());
        Assert.Equal(Path.Combine(Directory, "checkpoint-7"), Trainer.FindLatestCheckpoint(Directory));

        // Resuming the newest continues from step 7 with the same weights.
        using var other = Model(2);
        using var resumed = new Trainer(other, data, Options());
        Assert.Equal(Path.Combine(Directory, "checkpoint-7"), resumed.ResumeFromLatestCheckpoint());
        Assert.Equal(7, resumed.CompletedSteps);
        foreach (var (key, value) in model.state_dict()) Assert.True(Bits.Same(value, other.state_dict()[key]), key);
    }

    [Fact]
    public void NullKeepsEveryCheckpoint()
    {
        using var data = Data();
        using var model = Model(1);
        using var trainer = new Trainer(model, data, Options(kept: null));
        trainer.Run(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(new[] { "checkpoint-2", "checkpoint-4", "checkpoint-6", "checkpoint-7" }, Entries());
    }

    [Fact]
    public void LeftoversOfInterruptedSavesAreRemovedAndOtherEntriesKept()
    {
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, ".checkpoint-3.tmp-0123"));       // a write cut short
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, ".checkpoint-1.deleting-4567"));  // a delete cut short
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, ".checkpoint-9.old-89ab"));       // the only copy of step 9
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "checkpoint-007"));               // not a checkpoint name
        File.WriteAllText(Path.Combine(Directory, "notes.txt"), "mine");
        Assert.Null(Trainer.FindLatestCheckpoint(Directory));

        using var data = Data();
        using var model = Model(1);
        using var trainer = new Trainer(model, data, Options());
        trainer.Run(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(new[] { ".checkpoint-9.old-89ab", "checkpoint-007", "checkpoint-6", "checkpoint-7", "notes.txt" }, Entries());
    }

    [Fact]
    public void RunControlOptionsAreNotSavedOrCompared()
    {
        using var data = Data();
        using var model = Model(1);
        using var trainer = new Trainer(model, data, Options());
        trainer.Run(cancellationToken: TestContext.Current.CancellationToken);
        string latest = Trainer.FindLatestCheckpoint(Directory)!;
        var saved = JsonNode.Parse(File.ReadAllText(Path.Combine(latest, "trainer_state.json")))!.AsObject();
        Assert.Equal(2, (int)saved["format_version"]!);
        Assert.Equal(0, (long)saved["skipped_steps"]!);
        var options = saved["options"]!.AsObject().Select(p => p.Key).ToList();
        Assert.DoesNotContain("checkpoint_directory", options);
        Assert.DoesNotContain("non_finite", options);

        using var other = Model(2);
        using var resumed = new Trainer(other, data, Options() with
        {
            CheckpointDirectory = null, CheckpointInterval = 1, CheckpointsKept = null, NonFinite = NonFinitePolicy.SkipStep,
        });
        resumed.LoadCheckpoint(latest); // no allowChangedOptions needed
        Assert.Equal(7, resumed.CompletedSteps);
        Assert.Throws<InvalidOperationException>(() => resumed.ResumeFromLatestCheckpoint());
    }

    [Fact]
    public void AVersion1TrainerStateStillLoadsAndAnUnknownVersionIsNamed()
    {
        using var data = Data();
        using var model = Model(1);
        using var trainer = new Trainer(model, data, Options());
        trainer.Run(cancellationToken: TestContext.Current.CancellationToken);
        string latest = Trainer.FindLatestCheckpoint(Directory)!;
        string statePath = Path.Combine(latest, "trainer_state.json");
        var state = JsonNode.Parse(File.ReadAllText(statePath))!.AsObject();
        state.Remove("skipped_steps");
        state["format_version"] = 1; // as DiffTransformer 0.1.0 wrote it
        File.WriteAllText(statePath, state.ToJsonString());

        using var other = Model(2);
        using var resumed = new Trainer(other, data, Options());
        resumed.LoadCheckpoint(latest);
        Assert.Equal(7, resumed.CompletedSteps);
        Assert.Equal(0, resumed.SkippedSteps);

        state["format_version"] = 3;
        state["skipped_steps"] = 0;
        File.WriteAllText(statePath, state.ToJsonString());
        var error = Assert.Throws<InvalidDataException>(() => resumed.LoadCheckpoint(latest));
        Assert.Contains("format_version 3", error.Message);
        Assert.Contains("reads versions 1 to 2", error.Message);
    }

    private string[] Entries() =>
        System.IO.Directory.GetFileSystemEntries(Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    private static TokenBatches Data() => new(Corpus.Bytes(), batchSize: 2, time: 16, seed: 5);

    private static DiffTransformerLM Model(long seed)
    {
        manual_seed(seed);
        return new DiffTransformerLM(Corpus.ByteConfig());
    }
}
