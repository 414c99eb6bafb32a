using System.Diagnostics;
using System.Globalization;
using static TorchSharp.torch;

namespace DiffTransformer.Benchmarks;

/// <summary>One memory measurement: a layer, a kernel, a pass and a length, run once in a fresh child process.</summary>
public sealed record MemoryCase(LayerVariant Variant, AttentionKernel Kernel, LayerPass Pass, long Time);

/// <summary>What a child process reported (or why it has no result).</summary>
public sealed record MemoryResult(MemoryCase Case, long? PeakBytes, long? ProcessPeakBytes, double? Seconds, string? Failure);

/// <summary>
/// Peak native memory of one attention call. Each case runs in its own process so that nothing retained by an earlier
/// case counts: the child builds the layer and its input, resets the kernel's peak-RSS counter (<c>/proc/self/clear_refs</c>),
/// runs the pass once and reports <c>VmHWM - VmRSS before the call</c>, i.e. what the call itself added to the
/// process's resident memory (tensors, LibTorch workspaces, allocator slack). Linux only.
/// </summary>
public static class MemoryProbe
{
    /// <summary>The hidden command line verb of the child process.</summary>
    public const string ChildCommand = "memory-probe";

    private const string ResultPrefix = "MEMORY-PROBE-RESULT";

    /// <summary>True where /proc/self/status can be read.</summary>
    public static bool Supported => File.Exists("/proc/self/status");

    /// <summary>Runs <paramref name="memoryCase"/> in a child process of this program.</summary>
    public static MemoryResult Measure(MemoryCase memoryCase, int? threads, TimeSpan timeout)
    {
        var start = ChildStart();
        foreach (var arg in new[] { ChildCommand, memoryCase.Variant.ToString(), memoryCase.Kernel.ToString(),
                     memoryCase.Pass.ToString(), memoryCase.Time.ToString(CultureInfo.InvariantCulture),
                     (threads ?? 0).ToString(CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(arg);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        using var child = Process.Start(start) ?? throw new InvalidOperationException("Could not start the memory probe process.");
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        if (!child.WaitForExit(timeout))
        {
            child.Kill(entireProcessTree: true);
            return new MemoryResult(memoryCase, null, null, null, $"timed out after {timeout.TotalSeconds:F0} s");
        }
        var line = stdout.Result.Split('\n').FirstOrDefault(l => l.StartsWith(ResultPrefix, StringComparison.Ordinal));
        if (child.ExitCode != 0 || line is null)
        {
            string why = child.ExitCode == 137 ? "killed (out of memory?)" : $"exit code {child.ExitCode}";
            string detail = stderr.Result.Split('\n').FirstOrDefault(l => l.Length > 0) ?? "";
            return new MemoryResult(memoryCase, null, null, null, $"{why} {detail}".Trim());
        }
        var fields = line.Split(' ');
        return new MemoryResult(memoryCase, long.Parse(fields[1], CultureInfo.InvariantCulture),
            long.Parse(fields[2], CultureInfo.InvariantCulture), double.Parse(fields[3], CultureInfo.InvariantCulture), null);
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
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = StatusBytes("VmRSS");
        ResetPeak();
        var watch = Stopwatch.StartNew();
        workload.Run(pass);
        double seconds = watch.Elapsed.TotalSeconds;
        long peak = StatusBytes("VmHWM");
        Console.WriteLine(FormattableString.Invariant($"{ResultPrefix} {peak - before} {peak} {seconds:F3}"));
        return 0;
    }

    private static ProcessStartInfo ChildStart()
    {
        string process = Environment.ProcessPath ?? throw new InvalidOperationException("The process path is unknown.");
        var start = new ProcessStartInfo(process);
        // Under `dotnet app.dll` the process is the dotnet host: pass the app itself first.
        if (Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            start.ArgumentList.Add(typeof(MemoryProbe).Assembly.Location);
        return start;
    }

    private static void ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (IOException) { } // without the reset, VmHWM still includes the (small) set-up above
        catch (UnauthorizedAccessException) { }
    }

    private static long StatusBytes(string field)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024; // reported in kB
    }

    /// <summary>Bytes of one float32 <c>[1, 8, T, T]</c> map tensor: what the naive kernel must hold at least once.</summary>
    public static long MapBytes(long time) => 8L * time * time * sizeof(float);
}
