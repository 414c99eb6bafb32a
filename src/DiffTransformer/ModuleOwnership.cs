using TorchSharp;

namespace DiffTransformer;

internal static class ModuleOwnership
{
    /// <summary>
    /// Takes a new module's parameters and buffers out of any enclosing dispose scope, so that building a model inside
    /// <c>NewDisposeScope()</c> does not dispose its weights when the scope ends. The module owns them from here on.
    /// </summary>
    public static void DetachParametersFromScopes(this torch.nn.Module module)
    {
        foreach (var (_, parameter) in module.named_parameters()) parameter.DetachFromDisposeScope();
        foreach (var (_, buffer) in module.named_buffers()) buffer.DetachFromDisposeScope();
    }
}
