using System.Diagnostics;

namespace DiffTransformer.Testing;

/// <summary>
/// Runs a program of this repository that was built beside the calling test project (same configuration, its
/// <c>bin/&lt;configuration&gt;/net10.0</c> folder) as a child process, and returns its exit code and output. The test
/// project names it in a <c>ProjectReference</c> with <c>ReferenceOutputAssembly="false"</c>, so it is built first.
/// </summary>
internal static class BuiltProgram
{
    /// <param name="project">The project folder relative to the repository root, e.g. <c>tests/DiffTransformer.LeakCheck</c>.</param>
    /// <param name="args">Its command line.</param>
    /// <param name="timeout">How long it may run; a program still running then is killed and the call throws.</param>
    public static (int ExitCode, string Output, string Error) Run(string project, IEnumerable<string> args, TimeSpan timeout)
    {
        using var process = Start(project, args);
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path(project)} {string.Join(' ', args)} did not finish in {timeout.TotalSeconds:F0} s");
        }
        process.WaitForExit(); // the redirected streams are complete only after this overload returns
        return (process.ExitCode, output.Result, error.Result);
    }

    /// <summary>
    /// Starts the program with standard output and error redirected (the caller reads them, or the program may block on
    /// a full pipe) and returns the process, which the caller disposes (and kills, if it must not outlive the test).
    /// </summary>
    public static Process Start(string project, IEnumerable<string> args)
    {
        string program = Path(project);
        if (!File.Exists(program)) throw new FileNotFoundException($"{program} was not built", program);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(program);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        return Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
    }

    private static string Path(string project)
    {
        // This test project's own output folder is bin/<configuration>/net10.0.
        string configuration = new DirectoryInfo(System.IO.Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        return System.IO.Path.Combine(Repository.Root, project, "bin", configuration, "net10.0", System.IO.Path.GetFileName(project) + ".dll");
    }
}
