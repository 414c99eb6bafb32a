using System.Diagnostics;

namespace DiffTransformer.LeakCheck;

/// <summary>Resident memory of this process that the .NET heap does not hold.</summary>
internal static class NativeMemory
{
    /// <summary>RSS minus the GC's committed bytes, in MiB, after a full collection (so finalizable tensors are freed).</summary>
    public static double MiB()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        return (process.WorkingSet64 - GC.GetGCMemoryInfo().TotalCommittedBytes) / (1024.0 * 1024.0);
    }
}
