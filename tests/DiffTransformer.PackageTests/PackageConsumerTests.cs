using System.Diagnostics;
using System.Text;

namespace DiffTransformer.PackageTests;

/// <summary>
/// Packs DiffTransformer and DiffTransformer.Tokenizers into a local folder and builds a fresh console app outside the
/// solution that references only the packed packages and TorchSharp-cpu from NuGet; then runs it: build a model, train,
/// save, load, generate, and tokenize with cl100k. This
/// catches files missing from the package, internal types leaking into the API, and the native fix not reaching users.
/// </summary>
public class PackageConsumerTests
{
    [Fact]
    public void AFreshAppBuildsAndRunsAgainstThePackedLibrary()
    {
        string repository = Repository.Root;
        string work = Path.Combine(Path.GetTempPath(), "difftransformer-consumer-" + Guid.NewGuid().ToString("N"));
        // A version of its own, so the global NuGet cache never serves an older build of the same number.
        string suffix = "consumer." + DateTime.UtcNow.ToString("yyyyMMddHHmmss");
        string feed = Path.Combine(work, "feed"), app = Path.Combine(work, "app");
        Directory.CreateDirectory(feed);
        Directory.CreateDirectory(app);
        string? version = null;
        try
        {
            foreach (string project in new[] { "src/DiffTransformer/DiffTransformer.csproj", "src/DiffTransformer.Tokenizers/DiffTransformer.Tokenizers.csproj" })
                Run(repository, "dotnet", "pack", project, "-c", "Release", "-o", feed, $"-p:VersionSuffix={suffix}");
            string package = Directory.GetFiles(feed, "DiffTransformer.*.nupkg")
                .Single(p => !p.EndsWith(".snupkg") && !Path.GetFileName(p).StartsWith("DiffTransformer.Tokenizers."));
            Assert.True(File.Exists(Path.ChangeExtension(package, ".snupkg")), "the symbols package is missing");
            version = Path.GetFileNameWithoutExtension(package)["DiffTransformer.".Length..];
            Assert.True(File.Exists(Path.Combine(feed, $"DiffTransformer.Tokenizers.{version}.nupkg")), "the tokenizers package is missing");

            string consumer = Path.Combine(AppContext.BaseDirectory, "Consumer");
            File.Copy(Path.Combine(consumer, "Program.cs.template"), Path.Combine(app, "Program.cs"));
            File.WriteAllText(Path.Combine(app, "Consumer.csproj"),
                File.ReadAllText(Path.Combine(consumer, "Consumer.csproj.template")).Replace("$(DiffTransformerVersion)", version));
            File.WriteAllText(Path.Combine(app, "NuGet.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="local" value="{feed}" />
                    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
                  </packageSources>
                </configuration>
                """);
            // Keep the repository's global.json, Directory.Build.* and central versions out of the app's way.
            File.WriteAllText(Path.Combine(work, "Directory.Build.props"), "<Project />");
            File.WriteAllText(Path.Combine(work, "Directory.Build.targets"), "<Project />");
            File.WriteAllText(Path.Combine(work, "Directory.Packages.props"), "<Project />");

            string output = Run(app, "dotnet", "run", "-c", "Release");
            Assert.Contains("validation loss", output);
            Assert.Contains("CONSUMER OK", output);
            Assert.Contains("cl100k_base: 'Differential attention.' is ", output); // the app throws if it does not round-trip
        }
        finally
        {
            Directory.Delete(work, recursive: true);
            if (version is not null) DeleteFromNuGetCache(version);
        }
    }

    private static string Run(string directory, string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"'{file} {string.Join(' ', arguments)}' did not finish in 10 minutes:\n{output}");
        }
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"'{file} {string.Join(' ', arguments)}' exited with {process.ExitCode}:\n{output}");
        return output.ToString();
    }

    private static void DeleteFromNuGetCache(string version)
    {
        string root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (string id in new[] { "difftransformer", "difftransformer.tokenizers" })
        {
            string cached = Path.Combine(root, id, version.ToLowerInvariant());
            if (Directory.Exists(cached)) Directory.Delete(cached, recursive: true);
        }
    }
}
