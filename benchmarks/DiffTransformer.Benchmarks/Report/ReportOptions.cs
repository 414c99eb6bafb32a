namespace DiffTransformer.Benchmarks;

/// <summary>Settings of the <c>report</c> command; <see cref="Parse"/> reads them from the command line.</summary>
public sealed record ReportOptions
{
    /// <summary>Longer run: more rounds, more lengths, all variants in the memory section.</summary>
    public bool Full { get; init; }

    /// <summary>Where the Markdown report is written.</summary>
    public string OutputPath { get; init; } = Path.Combine("artifacts", "benchmarks", "report.md");

    /// <summary>The report's sections, in the order it writes them.</summary>
    public static readonly IReadOnlyList<string> SectionNames = ["layers", "training", "generation", "decoding", "profile", "memory", "loading"];

    /// <summary>Sections to run: any of <see cref="SectionNames"/>.</summary>
    public IReadOnlySet<string> Sections { get; init; } = SectionNames.ToHashSet();

    /// <summary>Naive runs whose time x time maps would need more than this are not started (they would not fit).</summary>
    public double NaiveMemoryCapGiB { get; init; } = 6;

    /// <summary>About how many parameters the loading section's generated checkpoints have (default 100M).</summary>
    public long LoadingParameters { get; init; } = 100_000_000;

    /// <summary>Rounds of the loading section (each loads every checkpoint once, in a fresh process); the median is reported.</summary>
    public int LoadingRepeats { get; init; } = 3;

    /// <summary>LibTorch intra-op threads; null keeps LibTorch's default (one per physical core).</summary>
    public int? Threads { get; init; }

    /// <summary>Sequence lengths of the layer timing (default 256, 1024, 2048, 4096).</summary>
    public long[] LayerTimes { get; init; } = { 128, 256, 512, 1024, 2048, 4096 };

    /// <summary>Timed rounds per table; null for the defaults of <see cref="TimedRounds"/>.</summary>
    public int? Rounds { get; init; }

    /// <summary>Cached positions at which the decoding section times a step (the first is the reference of the growth).</summary>
    public long[] DecodingPositions { get; init; } = { 256, 2048 };

    /// <summary>Sequence length of the profile section (the length of the V1 floor goal).</summary>
    public long ProfileTime { get; init; } = 2048;

    /// <summary>Layers of the decoding section's decoders (12: about 100M parameters).</summary>
    public int DecodingLayers { get; init; } = 12;

    /// <summary>
    /// The short run times the naive kernel up to 2048 (at 4096 one naive training call takes seconds; the memory section
    /// still runs it); the full run times both kernels at every length.
    /// </summary>
    public bool TimesNaive(long time) => Full || time <= 2048;

    /// <summary>Rounds discarded before timing starts, for a given length.</summary>
    public int WarmupRounds(long time) => time >= 2048 ? (Full ? 2 : 1) : (Full ? 3 : 2);

    /// <summary>Timed rounds for a given length.</summary>
    public int TimedRounds(long time) => Rounds ?? (time >= 4096 ? (Full ? 6 : 3) : time >= 2048 ? (Full ? 8 : 4) : (Full ? 10 : 5));

    /// <summary>Usage text.</summary>
    public static readonly string Usage =
        $"report [--full] [--out PATH] [--sections {string.Join(',', SectionNames)}] [--naive-memory-cap-gib N] [--threads N]\n" +
        "       [--layer-times 128,256,...] [--rounds N] [--decoding-positions 256,2048] [--decoding-layers N]\n" +
        "       [--profile-time T]\n" +
        "       [--loading-parameters 100M] [--loading-repeats N]\n" +
        "  Runs the side-by-side comparison (short by default, a few minutes) and writes a Markdown report.";

    /// <summary>Parses the arguments that follow <c>report</c>.</summary>
    /// <exception cref="UsageException">An unknown option or a bad value.</exception>
    public static ReportOptions Parse(IReadOnlyList<string> args)
    {
        var options = new ReportOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count
                ? args[++i]
                : throw new UsageException($"Option {args[i]} needs a value.\n{Usage}");
            switch (args[i])
            {
                case "--full": options = options with { Full = true }; break;
                case "--out": options = options with { OutputPath = Value() }; break;
                case "--sections":
                    var sections = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
                    if (sections.Count == 0 || sections.Except(SectionNames).Any())
                        throw new UsageException($"--sections takes {string.Join(", ", SectionNames)}; got '{string.Join(",", sections)}'.");
                    options = options with { Sections = sections };
                    break;
                case "--naive-memory-cap-gib":
                    string text = Value();
                    if (!double.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out double cap) || !(cap > 0))
                        throw new UsageException($"--naive-memory-cap-gib must be a positive number; got '{text}'.");
                    options = options with { NaiveMemoryCapGiB = cap };
                    break;
                case "--layer-times": options = options with { LayerTimes = PositiveList(args[i], Value()) }; break;
                case "--decoding-positions": options = options with { DecodingPositions = PositiveList(args[i], Value()) }; break;
                case "--profile-time": options = options with { ProfileTime = PositiveInteger(args[i], Value()) }; break;
                case "--decoding-layers": options = options with { DecodingLayers = PositiveInteger(args[i], Value()) }; break;
                case "--rounds": options = options with { Rounds = PositiveInteger(args[i], Value()) }; break;
                case "--loading-parameters": options = options with { LoadingParameters = Count(args[i], Value()) }; break;
                case "--loading-repeats": options = options with { LoadingRepeats = PositiveInteger(args[i], Value()) }; break;
                case "--threads": options = options with { Threads = PositiveInteger(args[i], Value()) }; break;
                default:
                    throw new UsageException($"Unknown option '{args[i]}'.\n{Usage}");
            }
        }
        return options;
    }

    private static long[] PositiveList(string option, string list)
    {
        var values = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => long.TryParse(t, out long v) && v > 0 ? v : -1).ToArray();
        if (values.Length == 0 || values.Any(t => t < 0))
            throw new UsageException($"{option} takes positive integers separated by commas; got '{list}'.");
        return values;
    }

    private static int PositiveInteger(string option, string text) =>
        int.TryParse(text, out int value) && value >= 1
            ? value
            : throw new UsageException($"{option} must be a positive integer; got '{text}'.");

    /// <summary>A positive count with an optional decimal suffix: <c>2000000</c>, <c>500K</c>, <c>2M</c>, <c>1.5G</c>.</summary>
    private static long Count(string option, string text)
    {
        double scale = text.Length == 0 ? 1 : char.ToUpperInvariant(text[^1]) switch { 'K' => 1e3, 'M' => 1e6, 'G' => 1e9, _ => 1 };
        string number = scale == 1 ? text : text[..^1];
        return double.TryParse(number, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double value)
               && value * scale >= 1 && value * scale <= 1e12
            ? (long)Math.Round(value * scale)
            : throw new UsageException($"{option} must be a positive count such as 2000000, 500K or 2M; got '{text}'.");
    }
}

/// <summary>A command line the report cannot run; the message says what is wrong, for the console as it is.</summary>
internal sealed class UsageException(string message) : Exception(message);
