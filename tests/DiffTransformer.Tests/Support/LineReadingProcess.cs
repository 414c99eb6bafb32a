using System.Collections.Concurrent;
using System.Diagnostics;

namespace DiffTransformer.Tests;

/// <summary>
/// A built program run as a child process whose standard output is collected line by line while it runs, so that a
/// test can wait for a line and then kill it. Disposing kills it if it is still running.
/// </summary>
internal sealed class LineReadingProcess : IDisposable
{
    private readonly Process process;
    private readonly BlockingCollection<string> pending = new();
    private readonly List<string> lines = new();
    private readonly Task<string> error;

    public LineReadingProcess(string project, IEnumerable<string> args)
    {
        process = BuiltProgram.Start(project, args);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) pending.CompleteAdding();
            else pending.Add(e.Data);
        };
        process.BeginOutputReadLine();
        error = process.StandardError.ReadToEndAsync();
    }

    /// <summary>Every line read so far.</summary>
    public IReadOnlyList<string> Lines => lines;

    /// <summary>Reads lines until one satisfies <paramref name="match"/> (true) or the output ends (false).</summary>
    public bool WaitForLine(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var left = timeout - deadline.Elapsed;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"no matching line in {timeout.TotalSeconds:F0} s; read: {string.Join(" | ", lines.TakeLast(5))}");
            if (!pending.TryTake(out var line, left))
            {
                if (pending.IsAddingCompleted) return false;
                continue;
            }
            lines.Add(line);
            if (match(line)) return true;
        }
    }

    /// <summary>Kills the process (SIGKILL on Linux) unless it has exited, and waits for it; returns whether it was still running.</summary>
    public bool Kill()
    {
        bool running = !process.HasExited;
        if (running)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                running = false; // it exited in between
            }
        }
        WaitForExit(TimeSpan.FromSeconds(30));
        return running;
    }

    /// <summary>Waits for the process to exit and reads the rest of its output; returns its exit code.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the child process did not exit in {timeout.TotalSeconds:F0} s");
        }
        process.WaitForExit(); // the redirected output is complete only after this overload returns
        _ = WaitForLine(_ => false, timeout); // reads the remaining lines: nothing matches, so it returns at the end
        return process.ExitCode;
    }

    /// <summary>Its standard error, once it has exited.</summary>
    public string Error => error.Result;

    public void Dispose()
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.Dispose();
        pending.Dispose();
    }
}
