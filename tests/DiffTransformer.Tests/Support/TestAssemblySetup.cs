using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

internal static class TestAssemblySetup
{
    /// <summary>
    /// The tests run tiny models, where LibTorch's per-operation threading costs more than it saves, and on a busy
    /// 2-core machine two spinning OpenMP threads made them up to ten times slower. Results do not depend on it.
    /// </summary>
    [ModuleInitializer]
    internal static void UseOneThread() => set_num_threads(1);
}
