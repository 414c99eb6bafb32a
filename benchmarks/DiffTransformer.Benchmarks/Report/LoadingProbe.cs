using System.Globalization;
using static TorchSharp.torch;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// Time and peak memory of one <see cref="HuggingFaceCheckpoint.Load"/>, or of building the same model without a file
/// (what a load spends before it reads), in a fresh child process (<see cref="ChildProbe"/>). The child first loads a
/// tiny model of the same type and dtypes (LibTorch's set-up, the loader's code), then measures the one call.
/// </summary>
public static class LoadingProbe
{
    /// <summary>The hidden command line verb of the child process.</summary>
    public const string ChildCommand = "loading-probe";

    private const string ResultPrefix = "LOADING-PROBE-RESULT";

    /// <summary>Loads <paramref name="checkpoint"/> as <paramref name="dtype"/> in a child process of this program.</summary>
    public static LoadingResult MeasureLoad(LoadingCheckpoint checkpoint, ScalarType dtype, int? threads, TimeSpan timeout) =>
        Measure(["load", checkpoint.WarmDirectory, dtype.ToString(), Threads(threads), checkpoint.Directory], timeout);

    /// <summary>
    /// Builds <see cref="LoadingCheckpoints.Config"/> of <paramref name="kind"/> and <paramref name="parameters"/> in
    /// <paramref name="dtype"/> (as the load builds it, random initialisation included) in a child process.
    /// </summary>
    public static LoadingResult MeasureBuild(LoadingCheckpoint warm, AttentionKind kind, long parameters, ScalarType dtype, int? threads, TimeSpan timeout) =>
        Measure(["build", warm.WarmDirectory, dtype.ToString(), Threads(threads), kind.ToString(), parameters.ToString(CultureInfo.InvariantCulture)], timeout);

    /// <summary>
    /// The child side: <c>loading-probe load WARM_DIRECTORY DTYPE THREADS DIRECTORY</c> or
    /// <c>loading-probe build WARM_DIRECTORY DTYPE THREADS KIND PARAMETERS</c> (0 threads: the default). Prints one result line.
    /// </summary>
    public static int RunChild(IReadOnlyList<string> args)
    {
        bool load = args is ["load", _, _, _, _], build = args is ["build", _, _, _, _, _];
        AttentionKind kind = default;
        long parameters = 0;
        if (!(load || build) || !Enum.TryParse(args[2], out ScalarType dtype) || !int.TryParse(args[3], out int threads) || threads < 0
            || build && (!Enum.TryParse(args[4], out kind) || !long.TryParse(args[5], out parameters) || parameters < 1))
        {
            Console.Error.WriteLine($"usage: {ChildCommand} load WARM_DIRECTORY DTYPE THREADS DIRECTORY | build WARM_DIRECTORY DTYPE THREADS KIND PARAMETERS; " +
                                    $"got '{string.Join(' ', args)}'");
            return 2;
        }
        if (threads > 0) set_num_threads(threads);
        var options = new HuggingFaceLoadOptions { DType = dtype };
        HuggingFaceCheckpoint.Load(args[1], options).Dispose();
        DiffTransformerLM? model = null;
        var (added, peak, seconds) = ChildProbe.MeasurePeak(() => model = load
            ? HuggingFaceCheckpoint.Load(args[4], options)
            : Build(LoadingCheckpoints.Config(kind, parameters), dtype));
        using (model)
        {
            long modelBytes = model!.parameters().Sum(p => p.numel() * p.ElementSize);
            ChildProbe.WriteResult(ResultPrefix, added, peak, seconds, modelBytes);
        }
        return 0;
    }

    private static LoadingResult Measure(string[] args, TimeSpan timeout)
    {
        var (fields, failure) = ChildProbe.Run(ChildCommand, args, ResultPrefix, timeout);
        if (fields is null) return LoadingResult.Failed(failure!);
        long Long(int i) => long.Parse(fields[i], CultureInfo.InvariantCulture);
        return new LoadingResult(Long(0), Long(1), double.Parse(fields[2], CultureInfo.InvariantCulture), Long(3), null);
    }

    /// <summary>The model built in <paramref name="dtype"/>, as the loader builds it (LibTorch's default dtype set around the construction).</summary>
    private static DiffTransformerLM Build(DiffTransformerConfig config, ScalarType dtype)
    {
        var previous = get_default_dtype();
        set_default_dtype(dtype);
        try
        {
            return new DiffTransformerLM(config);
        }
        finally
        {
            set_default_dtype(previous);
        }
    }

    private static string Threads(int? threads) => (threads ?? 0).ToString(CultureInfo.InvariantCulture);
}
