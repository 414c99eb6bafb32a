using System.Globalization;
using static TorchSharp.torch;

namespace DiffTransformer.Benchmarks;

/// <summary>One memory measurement: a layer, a kernel, a pass and a length, run once in a fresh child process.</summary>
public sealed record MemoryCase(LayerVariant Variant, AttentionKernel Kernel, LayerPass Pass, long Time);

/// <summary>What a child process reported (or why it has no result).</summary>
public sealed record MemoryResult(MemoryCase Case, long? PeakBytes, long? ProcessPeakBytes, double? Seconds, string? Failure);

/// <summary>
/// Peak native memory of one attention call. Each case runs in its own process (<see cref="ChildProbe"/>): the child
/// builds the layer and its input, then runs the pass once and reports what the call itself added to the process's
/// resident memory (tensors, LibTorch workspaces, allocator slack). Linux only.
/// </summary>
public static class MemoryProbe
{
    /// <summary>The hidden command line verb of the child process.</summary>
    public const string ChildCommand = "memory-probe";

    private const string ResultPrefix = "MEMORY-PROBE-RESULT";

    /// <summary>True where /proc/self/status can be read.</summary>
    public static bool Supported => ChildProbe.Supported;

    /// <summary>Runs <paramref name="memoryCase"/> in a child process of this program.</summary>
    public static MemoryResult Measure(MemoryCase memoryCase, int? threads, TimeSpan timeout)
    {
        var (fields, failure) = ChildProbe.Run(ChildCommand, new[] { memoryCase.Variant.ToString(), memoryCase.Kernel.ToString(),
            memoryCase.Pass.ToString(), memoryCase.Time.ToString(CultureInfo.InvariantCulture),
            (threads ?? 0).ToString(CultureInfo.InvariantCulture) }, ResultPrefix, timeout);
        if (fields is null) return new MemoryResult(memoryCase, null, null, null, failure);
        return new MemoryResult(memoryCase, long.Parse(fields[0], CultureInfo.InvariantCulture),
            long.Parse(fields[1], CultureInfo.InvariantCulture), double.Parse(fields[2], CultureInfo.InvariantCulture), null);
    }

    /// <summary>The child side: <c>memory-probe VARIANT KERNEL PASS TIME THREADS</c> (0 threads: the default). Prints one result line.</summary>
    public static int RunChild(IReadOnlyList<string> args)
    {
        if (args.Count != 5 || !int.TryParse(args[4], out int threads) || threads < 0 || !Enum.TryParse(args[0], out LayerVariant variant) || !Enum.TryParse(args[1], out AttentionKernel kernel)
            || !Enum.TryParse(args[2], out LayerPass pass) || !long.TryParse(args[3], out long time) || time < 1)
        {
            Console.Error.WriteLine($"usage: {ChildCommand} VARIANT KERNEL PASS TIME THREADS; got '{string.Join(' ', args)}'");
            return 2;
        }
        if (threads > 0) TorchSharp.torch.set_num_threads(threads);
        // Bring LibTorch's thread pools and kernels up on a tiny input first, so that one-off set-up is not counted.
        using (var warm = new LayerWorkload(variant, kernel, 16)) warm.Run(pass);
        using var workload = new LayerWorkload(variant, kernel, time);
        var (added, peak, seconds) = ChildProbe.MeasurePeak(() => workload.Run(pass));
        ChildProbe.WriteResult(ResultPrefix, added, peak, Math.Round(seconds, 3));
        return 0;
    }

    /// <summary>Bytes of one float32 <c>[1, 8, T, T]</c> map tensor: what the naive kernel must hold at least once.</summary>
    public static long MapBytes(long time) => 8L * time * time * sizeof(float);
}
