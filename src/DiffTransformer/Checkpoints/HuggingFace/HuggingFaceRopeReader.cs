using System.Text.Json;

namespace DiffTransformer;

/// <summary>
/// Reads the rotary settings of a <c>config.json</c> in either style: transformers 4.x (<c>rope_theta</c> and
/// <c>rope_scaling</c>, whose type is <c>rope_type</c> or the legacy <c>type</c>) or 5.x (<c>rope_parameters</c>, one
/// object holding <c>rope_theta</c>, <c>rope_type</c> and the scaling keys). Both styles in one file must agree.
/// Supported types: <c>default</c>, <c>linear</c> (<c>factor</c>) and <c>llama3</c> (<c>factor</c>,
/// <c>low_freq_factor</c>, <c>high_freq_factor</c>, <c>original_max_position_embeddings</c>); any other type, or a
/// <c>partial_rotary_factor</c> other than 1, is refused. Keys a type does not use are ignored, as transformers does.
/// </summary>
internal static class HuggingFaceRopeReader
{
    /// <summary>transformers' default <c>rope_theta</c> for Llama and DiffLlama.</summary>
    public const double DefaultTheta = 10000.0;

    private static readonly string[] Supported = { "default", "linear", "llama3" };

    /// <summary>The base and scaling the top-level object <paramref name="config"/> describes.</summary>
    public static (double Theta, RopeScaling? Scaling) Read(HuggingFaceJsonFields config)
    {
        double? legacyTheta = config.HasValue("rope_theta") ? config.PositiveDouble("rope_theta", DefaultTheta) : null;
        RopeScaling? legacyScaling = config.HasValue("rope_scaling")
            ? ReadScaling(new HuggingFaceJsonFields(config.Raw("rope_scaling"), config.Path, "rope_scaling."), typeRequired: true)
            : null;
        if (!config.HasValue("rope_parameters")) return (legacyTheta ?? DefaultTheta, legacyScaling);

        var parameters = new HuggingFaceJsonFields(config.Raw("rope_parameters"), config.Path, "rope_parameters.");
        foreach (string key in parameters.Keys)
            if (parameters.Raw(key).ValueKind == JsonValueKind.Object)
                throw parameters.Bad(key, "is a nested object (rotary parameters per layer type), which Llama and DiffLlama do not have");
        double? theta = parameters.HasValue("rope_theta") ? parameters.PositiveDouble("rope_theta", DefaultTheta) : null;
        var scaling = ReadScaling(parameters, typeRequired: false);

        if (legacyTheta is { } lt && theta is { } pt && lt != pt)
            throw new InvalidDataException(
                $"'{config.Path}': 'rope_theta' = {config.Raw("rope_theta").GetRawText()} disagrees with 'rope_parameters.rope_theta' = " +
                $"{parameters.Raw("rope_theta").GetRawText()}; a config may give both styles only when they agree.");
        if (config.Has("rope_scaling") && legacyScaling != scaling)
            throw new InvalidDataException(
                $"'{config.Path}': 'rope_scaling' = {HuggingFaceJsonFields.Describe(config.Raw("rope_scaling"))} disagrees with the scaling in " +
                $"'rope_parameters' = {HuggingFaceJsonFields.Describe(config.Raw("rope_parameters"))}; a config may give both styles only when they agree.");
        return (theta ?? legacyTheta ?? DefaultTheta, scaling);
    }

    /// <summary>
    /// The scaling an object holding <c>rope_type</c>/<c>type</c> and its keys describes; null for <c>default</c>.
    /// <paramref name="typeRequired"/>: 4.x's <c>rope_scaling</c> must name its type; 5.x's <c>rope_parameters</c>
    /// without one is the default rotary embedding.
    /// </summary>
    private static RopeScaling? ReadScaling(HuggingFaceJsonFields fields, bool typeRequired)
    {
        if (fields.HasValue("partial_rotary_factor") && fields.Double("partial_rotary_factor", 1) != 1)
            throw fields.Bad("partial_rotary_factor", "is not supported: the rotary embedding must cover the whole head (1.0)");
        string? ropeType = fields.String("rope_type");
        string? legacyType = fields.String("type");
        if (ropeType is not null && legacyType is not null && ropeType != legacyType)
            throw fields.Bad("type", $"disagrees with '{fields.Prefix}rope_type' = \"{ropeType}\"");
        string? type = ropeType ?? legacyType;
        if (type is null)
        {
            if (typeRequired) throw fields.Bad("rope_type", "is missing (neither 'rope_type' nor 'type' is given)");
            type = "default";
        }
        string key = ropeType is not null ? "rope_type" : "type";
        switch (type)
        {
            case "default":
                return null;
            case "linear":
                return new RopeScaling { Kind = RopeScalingKind.Linear, Factor = Factor(fields) };
            case "llama3":
            {
                double factor = Factor(fields);
                double low = Required(fields, "low_freq_factor");
                double high = Required(fields, "high_freq_factor");
                if (!(high > low))
                    throw fields.Bad("high_freq_factor", $"must be greater than '{fields.Prefix}low_freq_factor' = {fields.Raw("low_freq_factor").GetRawText()}");
                if (!fields.HasValue("original_max_position_embeddings"))
                    throw fields.Bad("original_max_position_embeddings", "is missing, and llama3 scaling needs it");
                int original = fields.PositiveInt("original_max_position_embeddings", 1);
                return new RopeScaling
                {
                    Kind = RopeScalingKind.Llama3, Factor = factor, LowFreqFactor = low, HighFreqFactor = high,
                    OriginalMaxPositionEmbeddings = original,
                };
            }
            default:
                throw fields.Bad(key, $"is not a supported rotary type (supported: {string.Join(", ", Supported)})");
        }
    }

    private static double Factor(HuggingFaceJsonFields fields) => Required(fields, "factor");

    private static double Required(HuggingFaceJsonFields fields, string key)
    {
        if (!fields.HasValue(key)) throw fields.Bad(key, "is missing, and this rotary type needs it");
        return fields.PositiveDouble(key, 1);
    }
}
