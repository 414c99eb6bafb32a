using System.Diagnostics;
using System.Globalization;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// The process plumbing of the report's per-case memory measurements. The parent runs this program again with a hidden
/// verb (<see cref="Run"/>) and reads one result line from it; the child measures what one action adds to its own
/// resident memory (<see cref="MeasurePeak"/>): it resets the kernel's peak-RSS counter (<c>/proc/self/clear_refs</c>),
/// runs the action and reports <c>VmHWM - VmRSS before the action</c>. A fresh process per case means nothing retained
/// by an earlier case counts. Linux only.
/// </summary>
public static class ChildProbe
{
    /// <summary>True where /proc/self/status can be read.</summary>
    public static bool Supported => File.Exists("/proc/self/status");

    /// <summary>
    /// Runs this program as <c>verb args...</c> and returns the space-separated fields that follow
    /// <paramref name="resultPrefix"/> on its output, or why there are none (a timeout, a non-zero exit code with the
    /// first line of its error output, or no result line).
    /// </summary>
    public static (string[]? Fields, string? Failure) Run(string verb, IEnumerable<string> args, string resultPrefix, TimeSpan timeout)
    {
        var start = ChildStart();
        start.ArgumentList.Add(verb);
        foreach (string arg in args) start.ArgumentList.Add(arg);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        using var child = Process.Start(start) ?? throw new InvalidOperationException($"Could not start the {verb} process.");
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        if (!child.WaitForExit(timeout))
        {
            child.Kill(entireProcessTree: true);
            return (null, $"timed out after {timeout.TotalSeconds:F0} s");
        }
        child.WaitForExit(); // the redirected streams are complete only after this overload returns
        var line = stdout.Result.Split('\n').FirstOrDefault(l => l.StartsWith(resultPrefix + " ", StringComparison.Ordinal));
        if (child.ExitCode != 0 || line is null)
        {
            string why = child.ExitCode == 137 ? "killed (out of memory?)" : $"exit code {child.ExitCode}";
            string detail = stderr.Result.Split('\n').FirstOrDefault(l => l.Length > 0) ?? "";
            return (null, $"{why} {detail}".Trim());
        }
        return (line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..], null);
    }

    /// <summary>The child side: prints the result line that <see cref="Run"/> reads (fields formatted invariantly).</summary>
    public static void WriteResult(string resultPrefix, params IFormattable[] fields) =>
        Console.WriteLine(string.Join(' ', fields.Select(f => f.ToString(null, CultureInfo.InvariantCulture)).Prepend(resultPrefix)));

    /// <summary>
    /// The child side: collects the managed heap, then runs <paramref name="action"/> once and returns what it added to
    /// the resident set at its peak (<c>VmHWM</c> after it minus <c>VmRSS</c> before it), the process's peak, and its
    /// time in seconds.
    /// </summary>
    public static (long AddedBytes, long PeakBytes, double Seconds) MeasurePeak(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long before = StatusBytes("VmRSS");
        ResetPeak();
        var watch = Stopwatch.StartNew();
        action();
        double seconds = watch.Elapsed.TotalSeconds;
        long peak = StatusBytes("VmHWM");
        return (peak - before, peak, seconds);
    }

    /// <summary>A field of <c>/proc/self/status</c> in bytes (the file reports kB).</summary>
    public static long StatusBytes(string field)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
    }

    private static ProcessStartInfo ChildStart()
    {
        string process = Environment.ProcessPath ?? throw new InvalidOperationException("The process path is unknown.");
        var start = new ProcessStartInfo(process);
        // Under `dotnet app.dll` the process is the dotnet host: pass the app itself first.
        if (Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            start.ArgumentList.Add(typeof(ChildProbe).Assembly.Location);
        return start;
    }

    private static void ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (IOException) { } // without the reset, VmHWM still includes the (small) set-up before the action
        catch (UnauthorizedAccessException) { }
    }
}
