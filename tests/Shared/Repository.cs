namespace DiffTransformer.Testing;

/// <summary>The checkout the test binaries were built from.</summary>
internal static class Repository
{
    /// <summary>The folder above the test binaries that holds DiffTransformer.sln.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "DiffTransformer.sln"))) return dir.FullName;
        throw new InvalidOperationException("DiffTransformer.sln not found above " + AppContext.BaseDirectory);
    }
}
