using DiffTransformer;
using Spectre.Console;

namespace RunPretrained;

/// <summary>Moves a progress bar as the loader reports bytes read (synchronously, on the loading thread).</summary>
internal sealed class BarProgress(ProgressTask task) : IProgress<HuggingFaceLoadProgress>
{
    public void Report(HuggingFaceLoadProgress value)
    {
        task.MaxValue = Math.Max(value.TotalBytes, 1);
        task.Value = value.BytesRead;
    }
}
