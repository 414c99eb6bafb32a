using BenchmarkDotNet.Running;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// Entry point. <c>report [...]</c> runs the side-by-side comparison and writes a Markdown report (docs/benchmarks.md);
/// <c>training [...]</c> runs the training memory/precision measurement (docs/training.md); anything else goes to
/// BenchmarkDotNet's switcher (e.g. <c>--filter *AttentionLayer*</c>).
/// </summary>
public static class Program
{
    /// <summary>Runs the report, a memory or loading probe child, the training measurement, or BenchmarkDotNet.</summary>
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == ReportCommand.Name) return ReportCommand.Run(args[1..]);
        if (args.Length > 0 && args[0] == MemoryProbe.ChildCommand) return MemoryProbe.RunChild(args[1..]);
        if (args.Length > 0 && args[0] == LoadingProbe.ChildCommand) return LoadingProbe.RunChild(args[1..]);
        if (args is ["training", .. var rest])
        {
            TrainingMeasurement.Run(rest);
            return 0;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
