using System.Globalization;
using DiffTransformer.TrainingRun;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Training;

/// <summary>
/// <see cref="Trainer.Run"/> with a checkpoint after every step survives SIGKILL. A child process
/// (<c>tests/DiffTransformer.TrainingRun</c>, 60 steps of a 1-layer width-16 decoder, float32, keeping 2 checkpoints)
/// is killed 20 times and restarted each time from the newest checkpoint; then it runs to the end. Half the kills come
/// at seeded random delays after the child has started (it sleeps 3 ms at each point inside a save, so that many land
/// there; a left-over temporary directory shows that a kill interrupted a write); the other half at seeded points inside a save where the child waits to be killed: a checkpoint file written
/// but not renamed, the complete temporary directory before the swap, or an old checkpoint renamed away before its
/// deletion. After each kill the newest checkpoint is not older than the last one saved, it loads, and resuming it
/// in-process reaches weights bit-identical to an uninterrupted in-process run; the restarted chain's final weights are
/// bit-identical to an uninterrupted child run. Kill points are seeded; which phase a random kill hits is reported.
/// </summary>
public sealed class PeriodicCheckpointKillTests : IDisposable
{
    private const string Program = "tests/DiffTransformer.TrainingRun";
    private const int Steps = 60, Kills = 20, WriteDelayMs = 3, MaxRandomDelayMs = 400;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly string[] Stages = { "file:model", "file:config", "file:optimizer", "file:trainer_state", "commit", "delete" };
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void RunKilledAtRandomMomentsResumesToBitIdenticalWeights()
    {
        var log = TestContext.Current.TestOutputHelper;
        string reference = temp.File("reference.safetensors");
        Finish("-", reference);
        var expected = Train(resumeFrom: null);
        log?.WriteLine($"in-process and child reference runs bit-identical: {SameWeights(Load(reference), expected)}");

        string directory = temp.File("checkpoints");
        var random = new Random(13);
        long latest = 0;
        int pausedInWrites = 0, duringWrite = 0, duringDelete = 0, inStep = 0, finishedFirst = 0, leftTemps = 0, launches = 0;
        for (int kill = 0; kill < Kills && latest < Steps; kill++)
        {
            bool pause = kill % 2 == 0;
            string stage = Stages[random.Next(Stages.Length)];
            // At least step 2, so that checkpoint-1 exists after the first kill; deleting starts with the save of step 3.
            long target = Math.Max(stage == "delete" ? 3 : 2, Math.Min(Steps, latest + random.Next(1, 5)));
            int delay = random.Next(0, MaxRandomDelayMs + 1);
            var args = new List<string> { directory, Steps.ToString(CultureInfo.InvariantCulture), temp.File("unused.safetensors") };
            args.AddRange(pause ? new[] { "0", $"{target}:{stage}" } : new[] { WriteDelayMs.ToString(CultureInfo.InvariantCulture) });

            using var child = new LineReadingProcess(Program, args);
            launches++;
            string where;
            if (pause)
            {
                Assert.True(child.WaitForLine(line => line == "paused", Timeout), $"the child never reached {target}:{stage}: {Tail(child)}");
                Assert.True(child.Kill());
                where = $"paused at {target}:{stage}";
                if (stage == "delete") duringDelete++;
                else
                {
                    duringWrite++;
                    pausedInWrites++;
                }
            }
            else
            {
                Assert.True(child.WaitForLine(line => line.StartsWith("start ", StringComparison.Ordinal), Timeout), Tail(child));
                Thread.Sleep(delay);
                if (!child.Kill()) finishedFirst++;
                where = $"after {delay} ms: {child.Lines[^1]}";
            }

            // What the kill interrupted shows in what it left: a save's temporary directory, or an old checkpoint renamed
            // for deletion (each run first removes what the previous one left).
            var hidden = Directory.GetDirectories(directory, ".*").Select(Path.GetFileName).ToList();
            int temps = hidden.Count(name => name!.Contains(".tmp-", StringComparison.Ordinal));
            leftTemps += temps;
            if (!pause)
            {
                if (temps > 0) duringWrite++;
                else if (hidden.Count > 0) duringDelete++;
                else inStep++;
            }
            if (pause) Assert.True(temps == (stage == "delete" ? 0 : 1) && hidden.Count == 1, $"{where}: left {string.Join(", ", hidden)}");

            long saved = child.Lines.Where(l => l.StartsWith("saved ", StringComparison.Ordinal)).Select(l => long.Parse(l[6..], CultureInfo.InvariantCulture))
                .DefaultIfEmpty(latest).Max();
            string? newest = Trainer.FindLatestCheckpoint(directory);
            Assert.True(newest is not null, $"{where}: no checkpoint");
            long step = long.Parse(Path.GetFileName(newest)["checkpoint-".Length..], CultureInfo.InvariantCulture);
            Assert.True(step == saved || step == saved + 1, $"{where}: newest checkpoint is step {step}, last saved {saved}");
            Assert.True(step >= latest, $"{where}: newest checkpoint went back from {latest} to {step}");
            Assert.InRange(Directory.GetDirectories(directory, "checkpoint-*").Length, 1, 3);
            Assert.True(SameWeights(Train(resumeFrom: newest), expected), $"{where}: resuming checkpoint-{step} in-process gave other weights");
            log?.WriteLine($"kill {kill + 1}: {where}; newest checkpoint-{step}, hidden leftovers: {string.Join(", ", hidden)}");
            latest = step;
        }

        string final = temp.File("final.safetensors");
        Finish(directory, final);
        Assert.True(SameWeights(Load(final), Load(reference)), "the killed and restarted run ended with other weights than the uninterrupted one");
        Assert.Equal(new[] { $"checkpoint-{Steps - 1}", $"checkpoint-{Steps}" },
            Directory.GetFileSystemEntries(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        log?.WriteLine($"{launches - finishedFirst} kills: {duringWrite} during a checkpoint write, {duringDelete} while deleting an old one, {inStep} elsewhere; " +
            $"{finishedFirst} launches finished before their kill; {leftTemps} temporary directories left behind");
        Assert.True(pausedInWrites >= 4, $"only {pausedInWrites} kills were placed inside a checkpoint write"); // 6 with seed 13
    }

    /// <summary>Runs the child to the end (resuming from <paramref name="checkpoints"/>, "-" for none) and saves its weights.</summary>
    private static void Finish(string checkpoints, string weights)
    {
        using var child = new LineReadingProcess(Program, new[] { checkpoints, Steps.ToString(CultureInfo.InvariantCulture), weights });
        int exitCode = child.WaitForExit(Timeout);
        Assert.True(exitCode == 0 && child.Lines[^1] == "done", $"the training run exited with {exitCode}: {child.Error} {Tail(child)}");
    }

    /// <summary>An uninterrupted in-process run of the child's training, or the rest of one from a checkpoint.</summary>
    private static Dictionary<string, Tensor> Train(string? resumeFrom)
    {
        using var data = TinyRun.Data();
        manual_seed(TinyRun.Seed);
        using var model = new DiffTransformerLM(TinyRun.Config);
        using var trainer = new Trainer(model, data, TinyRun.Options(Steps, checkpoints: null));
        if (resumeFrom is not null) trainer.LoadCheckpoint(resumeFrom);
        trainer.Run();
        return model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
    }

    private static Dictionary<string, Tensor> Load(string path) => Safetensors.Load(path);

    private static bool SameWeights(Dictionary<string, Tensor> a, Dictionary<string, Tensor> b) =>
        a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var other) && Bits.Same(p.Value, other));

    private static string Tail(LineReadingProcess child) => string.Join(" | ", child.Lines.TakeLast(5));
}
