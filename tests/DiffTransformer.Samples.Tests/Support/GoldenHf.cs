namespace DiffTransformer.Samples.Tests;

/// <summary>The golden Hugging Face directories this project copies into its output (see the csproj's GoldenHf items).</summary>
internal static class GoldenHf
{
    /// <summary>A fresh copy of the golden directory <paramref name="name"/> in <paramref name="directory"/>, named <paramref name="into"/> or as the original.</summary>
    public static string Copy(TempDirectory directory, string name, string? into = null)
    {
        string source = Path.Combine(AppContext.BaseDirectory, "fixtures", "golden-hf", name);
        string target = directory.File(into ?? name);
        Directory.CreateDirectory(target);
        foreach (string file in Directory.GetFiles(source)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        return target;
    }
}
