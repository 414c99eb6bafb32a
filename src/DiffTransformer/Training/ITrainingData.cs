using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// A source of training and validation batches. For a reproducible, exactly resumable run,
/// <see cref="GetTrainingBatch"/> must be a pure function of its index (the <see cref="Trainer"/> asks for micro-batch
/// <c>step * GradientAccumulationSteps + i</c>) and <see cref="GetValidationBatches"/> must always yield the same batches.
/// </summary>
public interface ITrainingData
{
    /// <summary>Training batch number <paramref name="index"/> (0-based) on <paramref name="device"/>; the caller disposes it.</summary>
    TrainingBatch GetTrainingBatch(long index, Device device);

    /// <summary>The fixed validation batches on <paramref name="device"/>, created lazily; the caller disposes each.</summary>
    IEnumerable<TrainingBatch> GetValidationBatches(Device device);
}
