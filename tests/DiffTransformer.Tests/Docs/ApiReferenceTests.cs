namespace DiffTransformer.Tests;

/// <summary>docs/api.md is the API as built: regenerate it with DIFFTRANSFORMER_UPDATE_API_DOCS=1 when the API changes.</summary>
public class ApiReferenceTests
{
    [Fact]
    public void ApiReferenceIsUpToDate()
    {
        string generated = ApiReference.Generate(typeof(DiffTransformerLM).Assembly, typeof(Cl100kTokenizer).Assembly);
        string path = Path.Combine(Repository.Root, "docs", "api.md");
        if (Environment.GetEnvironmentVariable("DIFFTRANSFORMER_UPDATE_API_DOCS") == "1") File.WriteAllText(path, generated);
        Assert.True(File.Exists(path) && File.ReadAllText(path).Replace("\r\n", "\n") == generated,
            "docs/api.md does not match the public API; run this test with DIFFTRANSFORMER_UPDATE_API_DOCS=1 and commit the result.");
    }

    [Fact]
    public void EveryPublicTypeAndMemberHasASummary()
    {
        string generated = ApiReference.Generate(typeof(DiffTransformerLM).Assembly, typeof(Cl100kTokenizer).Assembly);
        var undocumented = generated.Split('\n').Where(line => line.StartsWith("| `") && line.EndsWith("|  |")).ToList();
        Assert.True(undocumented.Count == 0, "members without a summary:\n" + string.Join("\n", undocumented));
    }
}
