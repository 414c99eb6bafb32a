using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// Runs <see cref="DecodeSweep"/> once, for all three attention kinds, and prints its Markdown tables (also written to
/// <c>artifacts/benchmarks/decode-sweep.md</c> under the repository root). It measures many things in one pass, so
/// BenchmarkDotNet only launches it: one invocation, no pilot, warm-up or jitting stages (the sweep warms itself up).
/// Run: <c>dotnet run -c Release --project benchmarks/DiffTransformer.Benchmarks -- --filter '*DecodeSweep*'</c>.
/// TorchSharp runs on one thread (set <c>DIFFTRANSFORMER_BENCH_THREADS</c> to change it): on a shared machine, multi-threaded
/// kernels stall whenever a partner thread is descheduled (a 1-token SDPA call went from ~20 us to ~12 ms with 2 threads
/// on a loaded 2-core machine), which would swamp what is measured.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 0, iterationCount: 1, invocationCount: 1)]
public class DecodeSweepBenchmark
{
    /// <summary>The whole sweep (a few minutes on two cores).</summary>
    [Benchmark]
    public void Sweep()
    {
        int threads = int.TryParse(Environment.GetEnvironmentVariable("DIFFTRANSFORMER_BENCH_THREADS"), out int t) && t > 0 ? t : 1;
        TorchSharp.torch.set_num_threads(threads);
        var watch = Stopwatch.StartNew();
        var results = new List<DecodeSweep.KindResult>();
        foreach (var kind in AttentionKinds.All)
            results.Add(DecodeSweep.Measure(kind, Console.Out));
        string report = DecodeReport.Markdown(results, watch.Elapsed);
        Console.WriteLine(report);
        if (RepositoryRoot() is { } root)
        {
            string path = Path.Combine(root, "artifacts", "benchmarks", "decode-sweep.md");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, report);
            Console.WriteLine($"Written to {path}");
        }
    }

    static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "DiffTransformer.sln"))) return dir.FullName;
        return null;
    }
}
