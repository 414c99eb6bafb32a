using System.Globalization;
using System.Text.Json;
using DiffTransformer;
using DiffTransformer.LeakCheck;
using TorchSharp;
using static TorchSharp.torch;

// leak-check PRECISION STEPS WINDOW LEAK_BYTES_PER_STEP
// Trains a tiny decoder for a warm-up, then STEPS more steps with an evaluation every WINDOW steps, and prints one JSON
// line: the change in live tensors on this thread and the native memory (MiB) read after the warm-up and after each window.
if (args.Length != 4 || !Enum.TryParse(args[0], out TrainingPrecision precision) ||
    !int.TryParse(args[1], CultureInfo.InvariantCulture, out int steps) ||
    !int.TryParse(args[2], CultureInfo.InvariantCulture, out int window) ||
    !int.TryParse(args[3], CultureInfo.InvariantCulture, out int leakBytes) || steps < 1 || window < 1 || leakBytes < 0)
{
    Console.Error.WriteLine("usage: leak-check Float32|BFloat16 STEPS WINDOW LEAK_BYTES_PER_STEP");
    return 2;
}

set_num_threads(1);
var bytes = ByteTokenizer.Instance.Encode(string.Concat(Enumerable.Repeat("the cat sees the moon. a dog hears the river. ", 60)));
using var data = new LeakingData(new TokenBatches(bytes, batchSize: 4, time: 16, seed: 1), leakBytes);
var config = new DiffTransformerConfig
{
    Attention = AttentionKind.Differential, VocabSize = 256, EmbedDim = 16, NumLayers = 1, NumHeads = 2, MaxSequenceLength = 16,
};
manual_seed(1);
using var model = new DiffTransformerLM(config);
var options = new TrainingOptions { Steps = steps + 200, WarmupSteps = 10, MaxEvaluationBatches = 2, Precision = precision };
using var trainer = new Trainer(model, data, options);

for (int i = 0; i < 100; i++) trainer.Step(); // optimizer state, gradients and allocator pools exist from here on
trainer.Evaluate();
long liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
var native = new List<double> { NativeMemory.MiB() };
for (int i = 1; i <= steps; i++)
{
    trainer.Step();
    if (i % window != 0) continue;
    trainer.Evaluate();
    native.Add(NativeMemory.MiB());
}
long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount - liveBefore;
Console.WriteLine(JsonSerializer.Serialize(new { live_tensors = live, native_mib = native }));
return 0;
