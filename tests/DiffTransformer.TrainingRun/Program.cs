using System.Globalization;
using DiffTransformer;
using DiffTransformer.Checkpoints;
using DiffTransformer.TrainingRun;
using static TorchSharp.torch;

// training-run CHECKPOINTS|- STEPS WEIGHTS_OUT [WRITE_DELAY_MS [PAUSE_AT]]
// Trains a tiny decoder (1 layer, width 16, float32, one thread) for STEPS steps with a checkpoint after every step into
// CHECKPOINTS (keeping 2; "-" saves none), resuming from the newest one there, and saves the final weights to
// WEIGHTS_OUT. One line per event on stdout, written before the event happens:
//   start resumed=N | step N |
//   at STEP:file:NAME (file NAME of checkpoint-STEP written, before its rename) | at STEP:commit (checkpoint-STEP
//   complete, before the directory swap) | at STEP:delete (after saving checkpoint-STEP, an old checkpoint renamed
//   away, before it is deleted) | saved STEP | done
// WRITE_DELAY_MS sleeps at each file, commit and delete event, so that random kills land inside saves. PAUSE_AT
// ("STEP:file:NAME", "STEP:commit" or "STEP:delete") blocks for ever at that event after printing "paused", for a kill
// at a known point.
if (args.Length is < 3 or > 5 || !int.TryParse(args[1], CultureInfo.InvariantCulture, out int steps) || steps < 1)
{
    Console.Error.WriteLine("usage: training-run CHECKPOINTS|- STEPS WEIGHTS_OUT [WRITE_DELAY_MS [PAUSE_AT]]");
    return 2;
}
string? checkpoints = args[0] == "-" ? null : args[0];
int delay = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 0;
string? pauseAt = args.Length > 4 ? args[4] : null;

void Event(string text)
{
    Console.Out.WriteLine(text); // stdout is unbuffered when redirected: each line reaches the pipe before we go on
    if (pauseAt is not null && text == "at " + pauseAt)
    {
        Console.Out.WriteLine("paused");
        Thread.Sleep(Timeout.Infinite);
    }
    if (delay > 0) Thread.Sleep(delay);
}

// A temporary path inside checkpoint-STEP's hidden temp directory: ".checkpoint-STEP.tmp-GUID/.NAME.GUID.tmp".
static string StepOf(string hidden) => Path.GetFileName(hidden).Split('.')[1]["checkpoint-".Length..];

string saving = "?"; // the step whose checkpoint is being written
AtomicFile.BeforeCommit = temp =>
{
    if (!Path.GetFileName(Path.GetDirectoryName(temp)!).StartsWith(".checkpoint-", StringComparison.Ordinal)) return; // the final weights
    saving = StepOf(Path.GetDirectoryName(temp)!);
    Event($"at {saving}:file:{Path.GetFileName(temp).Split('.')[1]}");
};
AtomicDirectory.BeforeCommit = temp => Event($"at {StepOf(temp)}:commit");
PeriodicCheckpoints.BeforeDelete = hidden => Event($"at {saving}:delete"); // after checkpoint-STEP, an older one goes

set_num_threads(1);
using var data = TinyRun.Data();
manual_seed(TinyRun.Seed);
using var model = new DiffTransformerLM(TinyRun.Config);
var options = TinyRun.Options(steps, checkpoints);
using var trainer = new Trainer(model, data, options);
if (checkpoints is not null) trainer.ResumeFromLatestCheckpoint();
Console.Out.WriteLine($"start resumed={trainer.CompletedSteps}");
trainer.Run(new ProgressLines(report =>
{
    Console.Out.WriteLine($"step {report.Step}");
    if (report.Checkpoint is not null) Console.Out.WriteLine($"saved {report.Step}");
}));
Safetensors.Save(args[2], model.state_dict());
Console.Out.WriteLine("done");
return 0;

internal sealed class ProgressLines(Action<TrainingProgress> report) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => report(value);
}
