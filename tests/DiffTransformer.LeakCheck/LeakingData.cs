using DiffTransformer;
using static TorchSharp.torch;

namespace DiffTransformer.LeakCheck;

/// <summary>
/// Training data that, when asked to, forgets to free a tensor of <c>leakBytes</c> with every training batch: the
/// deliberate leak of the control case. With 0 it passes the batches through unchanged.
/// </summary>
internal sealed class LeakingData(TokenBatches inner, int leakBytes) : ITrainingData, IDisposable
{
    private readonly List<Tensor> kept = new();

    public TrainingBatch GetTrainingBatch(long index, Device device)
    {
        if (leakBytes > 0) kept.Add(ones(leakBytes / sizeof(float)).DetachFromDisposeScope()); // referenced: never freed
        return inner.GetTrainingBatch(index, device);
    }

    public IEnumerable<TrainingBatch> GetValidationBatches(Device device) => inner.GetValidationBatches(device);

    public void Dispose()
    {
        foreach (var t in kept) t.Dispose();
        inner.Dispose();
    }
}
