using BenchmarkDotNet.Running;

namespace DiffTransformer.Benchmarks;

public static class Program
{
    public static void Main(string[] args)
    {
        if (args is ["training", .. var rest])
        {
            TrainingMeasurement.Run(rest);
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
