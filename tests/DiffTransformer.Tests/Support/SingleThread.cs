using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>
/// Runs LibTorch on one intra-op thread until disposed. Tiny training runs are dominated by per-operation overhead,
/// and on a busy 2-core machine two spinning OpenMP threads made them up to ten times slower; results do not change.
/// </summary>
internal sealed class SingleThread : IDisposable
{
    private readonly int previous = get_num_threads();

    public SingleThread() => set_num_threads(1);

    public void Dispose() => set_num_threads(previous);
}
