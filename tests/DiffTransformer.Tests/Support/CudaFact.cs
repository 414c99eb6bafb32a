using TorchSharp;

namespace DiffTransformer.Tests;

internal static class Cuda
{
    /// <summary>Skips the calling test unless a CUDA device is present.</summary>
    public static void Require() =>
        Assert.SkipUnless(torch.cuda.is_available(), "No CUDA device (TorchSharp-cuda and a GPU are needed).");
}
