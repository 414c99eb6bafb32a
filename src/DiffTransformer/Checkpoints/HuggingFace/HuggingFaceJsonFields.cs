using System.Text.Json;

namespace DiffTransformer;

/// <summary>
/// Typed access to the keys of one JSON object of a Hugging Face file (<c>config.json</c>, its <c>rope_scaling</c>, an
/// index), where every error is an <see cref="InvalidDataException"/> naming the file, the field (with its parent, e.g.
/// <c>rope_scaling.factor</c>) and the value. A key given twice is an error. A key whose value is JSON <c>null</c>
/// counts as present (<see cref="Has"/>) but reads as absent (the default) in the typed getters that allow null.
/// </summary>
internal sealed class HuggingFaceJsonFields
{
    private readonly Dictionary<string, JsonElement> values = new(StringComparer.Ordinal);

    public HuggingFaceJsonFields(JsonElement element, string path, string prefix = "")
    {
        Path = path;
        Prefix = prefix;
        if (element.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException(prefix.Length == 0
                ? $"'{path}' must hold a JSON object; it holds {Describe(element)}."
                : $"'{path}': '{prefix.TrimEnd('.')}' must be a JSON object; got {Describe(element)}.");
        foreach (var property in element.EnumerateObject())
            if (!values.TryAdd(property.Name, property.Value))
                throw new InvalidDataException($"'{path}': key '{prefix}{property.Name}' is given twice.");
    }

    /// <summary>The file the object came from.</summary>
    public string Path { get; }

    /// <summary>The parent field and a dot (empty for the top-level object).</summary>
    public string Prefix { get; }

    /// <summary>Every key, sorted by ordinal.</summary>
    public IEnumerable<string> Keys => values.Keys.Order(StringComparer.Ordinal);

    /// <summary>True when <paramref name="key"/> is present (even as null).</summary>
    public bool Has(string key) => values.ContainsKey(key);

    /// <summary>True when <paramref name="key"/> is present and not null.</summary>
    public bool HasValue(string key) => values.TryGetValue(key, out var v) && v.ValueKind != JsonValueKind.Null;

    /// <summary>The raw value of a present key.</summary>
    public JsonElement Raw(string key) => values[key];

    public int Int(string key, int fallback) => NullableInt(key) ?? fallback;

    public int? NullableInt(string key)
    {
        if (!HasValue(key)) return null;
        var v = values[key];
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n)) return n;
        // Python writes integral floats as 8192.0; accept those where an integer is meant.
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue)
            return (int)d;
        throw Bad(key, v, "must be an integer");
    }

    public int PositiveInt(string key, int fallback)
    {
        int n = Int(key, fallback);
        if (n <= 0) throw Bad(key, values[key], "must be a positive integer");
        return n;
    }

    public double Double(string key, double fallback) => NullableDouble(key) ?? fallback;

    public double? NullableDouble(string key)
    {
        if (!HasValue(key)) return null;
        var v = values[key];
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && double.IsFinite(d)) return d;
        throw Bad(key, v, "must be a finite number");
    }

    public double PositiveDouble(string key, double fallback)
    {
        double d = Double(key, fallback);
        if (!(d > 0)) throw Bad(key, values[key], "must be a positive number");
        return d;
    }

    public bool Bool(string key, bool fallback)
    {
        if (!HasValue(key)) return fallback;
        var v = values[key];
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(key, v, "must be true or false"),
        };
    }

    public string? String(string key)
    {
        if (!HasValue(key)) return null;
        var v = values[key];
        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw Bad(key, v, "must be a string");
    }

    /// <summary>An integer or a list of integers (<c>eos_token_id</c>); null when absent or null.</summary>
    public (IReadOnlyList<int> Ids, bool IsList)? IntOrList(string key)
    {
        if (!HasValue(key)) return null;
        var v = values[key];
        if (v.ValueKind != JsonValueKind.Array) return (new[] { Int(key, 0) }, false);
        var ids = new List<int>();
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out int n))
                throw Bad(key, v, "must be an integer or a list of integers");
            ids.Add(n);
        }
        return (ids, true);
    }

    /// <summary>A list of strings (<c>architectures</c>); null when absent or null.</summary>
    public IReadOnlyList<string>? StringList(string key)
    {
        if (!HasValue(key)) return null;
        var v = values[key];
        if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(i => i.ValueKind != JsonValueKind.String))
            throw Bad(key, v, "must be a list of strings");
        return v.EnumerateArray().Select(i => i.GetString()!).ToList();
    }

    /// <summary>The error for <paramref name="key"/> holding <paramref name="value"/>, which breaks <paramref name="rule"/>.</summary>
    public InvalidDataException Bad(string key, JsonElement value, string rule) =>
        new($"'{Path}': '{Prefix}{key}' = {Describe(value)} {rule}.");

    /// <summary>The error for <paramref name="key"/> (holding its current value), which breaks <paramref name="rule"/>.</summary>
    public InvalidDataException Bad(string key, string rule) =>
        Bad(key, values.TryGetValue(key, out var v) ? v : default, rule);

    /// <summary>A short rendering of a JSON value for messages (long values are cut).</summary>
    public static string Describe(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Undefined) return "(absent)";
        string raw = value.GetRawText();
        return raw.Length <= 120 ? raw : raw[..117] + "...";
    }
}
