using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;

namespace DiffTransformer.Benchmarks;

/// <summary>What the report was measured on: date, CPU, memory, OS, runtime and library versions, machine load.</summary>
public static class MachineInfo
{
    /// <summary>A Markdown bullet list describing this machine.</summary>
    public static string Describe()
    {
        var text = new StringBuilder();
        text.AppendLine($"- Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        text.AppendLine($"- CPU: {CpuModel()}, {Environment.ProcessorCount} logical cores; LibTorch threads: {torch.get_num_threads()}");
        text.AppendLine($"- Memory: {MemoryGiB()}");
        text.AppendLine($"- OS: {RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})");
        text.AppendLine($"- .NET: {RuntimeInformation.FrameworkDescription}; TorchSharp {TorchSharpVersion()}; LibTorch {torch.__version__}");
        text.AppendLine($"- CUDA: {(torch.cuda.is_available() ? $"available ({torch.cuda.device_count()} device(s))" : "not available (CPU only; the CUDA columns are left out)")}");
        return text.ToString();
    }

    /// <summary>The 1, 5 and 15 minute load averages, or "unknown" off Linux.</summary>
    public static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{parts[0]} / {parts[1]} / {parts[2]}";
        }
        catch (IOException) { return "unknown"; }
        catch (UnauthorizedAccessException) { return "unknown"; }
    }

    private static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static string MemoryGiB()
    {
        var info = GC.GetGCMemoryInfo();
        return $"{info.TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024):F1} GiB";
    }

    private static string TorchSharpVersion()
    {
        var assembly = typeof(torch).Assembly;
        var informational = assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion;
        return (informational ?? assembly.GetName().Version?.ToString() ?? "unknown").Split('+')[0];
    }
}
