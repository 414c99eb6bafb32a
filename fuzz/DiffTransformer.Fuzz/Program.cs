using DiffTransformer.Fuzz;
using SharpFuzz;

// DiffTransformer.Fuzz TARGET              the AFL++ target (fuzz/run.sh runs it under afl-fuzz)
// DiffTransformer.Fuzz TARGET FILE...      replays files through the target without AFL and prints each outcome
// DiffTransformer.Fuzz --seed-corpus DIR   writes the valid seed files made with the library into DIR/TARGET/
if (args is ["--seed-corpus", string output])
{
    SeedCorpus.Write(output);
    return 0;
}
if (args.Length < 1 || !ReaderTargets.Names.Contains(args[0]))
{
    Console.Error.WriteLine($"usage: DiffTransformer.Fuzz TARGET [FILE...] | --seed-corpus DIR; TARGET is one of {string.Join(", ", ReaderTargets.Names)}");
    return 2;
}
string target = args[0];
unsafe
{
    // The instrumented assemblies write coverage to this map; Fuzzer.Run points it at AFL's shared memory, so until then
    // (the warm-up, a replay) it needs a map of its own.
    SharpFuzz.Common.Trace.SharedMem = (byte*)System.Runtime.InteropServices.Marshal.AllocHGlobal(1 << 16);
}
using var workspace = new FuzzWorkspace();
// Warm up before the first input is timed: the JIT, LibTorch, the target's fixed files. An empty input must be rejected.
ReaderTargets.Run(target, workspace, Array.Empty<byte>(), TimeSpan.FromMinutes(1));
if (args.Length > 1)
{
    foreach (string file in args[1..])
        Console.WriteLine($"{file}: {ReaderTargets.Run(target, workspace, File.ReadAllBytes(file), ReaderTargets.MaxTime)}");
    return 0;
}
Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    try
    {
        ReaderTargets.Run(target, workspace, buffer.ToArray(), ReaderTargets.MaxTime);
    }
    catch (Exception e) when (Environment.GetEnvironmentVariable("DIFFTRANSFORMER_FUZZ_LOG") is { Length: > 0 } log)
    {
        // AFL keeps the input but not the message: fuzz/run.sh points this at fuzz/out/TARGET.violations.
        File.AppendAllText(log, $"{DateTime.UtcNow:O} {e.GetType().Name}: {e.Message}{Environment.NewLine}");
        throw;
    }
});
return 0;
