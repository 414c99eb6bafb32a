namespace DiffTransformer;

/// <summary>How far a <see cref="HuggingFaceCheckpoint.Load"/> has read, reported after each tensor.</summary>
/// <param name="BytesRead">Stored bytes of the tensors read so far.</param>
/// <param name="TotalBytes">Stored bytes of all the tensors the load reads.</param>
/// <param name="TensorsRead">Tensors read so far.</param>
/// <param name="TotalTensors">Tensors the load reads.</param>
public readonly record struct HuggingFaceLoadProgress(long BytesRead, long TotalBytes, int TensorsRead, int TotalTensors);
