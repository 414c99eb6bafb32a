using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiffTransformer.Training;

/// <summary>
/// AdamW set-up with two parameter groups. The rule, by shape and owning module: a trainable parameter with two or more
/// dimensions gets weight decay (every projection matrix: <c>q_proj k_proj v_proj out_proj/o_proj</c>, V2's
/// <c>lambda_proj.weight</c>, the SwiGLU matrices and an untied <c>lm_head.weight</c>), except the weight of an
/// <c>nn.Embedding</c> (<c>embed_tokens.weight</c>, also when the head is tied to it). Parameters with fewer dimensions
/// get none: RMSNorm weights (<c>attn_norm ffn_norm norm subln</c>), biases, and V1's <c>lambda_q1 lambda_k1
/// lambda_q2 lambda_k2</c>. Frozen parameters (<c>requires_grad == false</c>) are left out.
/// </summary>
public static class ParameterGroups
{
    /// <summary>Splits <paramref name="module"/>'s trainable parameters by the rule above, keeping state-dict order.</summary>
    public static ParameterSplit Split(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        var embeddings = module.named_modules()
            .Where(m => m.module is Embedding)
            .Select(m => m.name + ".weight")
            .ToHashSet(StringComparer.Ordinal);
        var decay = new List<(string, Parameter)>();
        var noDecay = new List<(string, Parameter)>();
        foreach (var (name, parameter) in module.named_parameters())
        {
            if (!parameter.requires_grad) continue;
            if (UsesWeightDecay(parameter, embeddings.Contains(name))) decay.Add((name, parameter));
            else noDecay.Add((name, parameter));
        }
        return new ParameterSplit(decay, noDecay);
    }

    /// <summary>The rule: matrices decay, embedding tables and vectors (norms, biases, lambdas) do not.</summary>
    public static bool UsesWeightDecay(Tensor parameter, bool isEmbedding)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        return parameter.dim() >= 2 && !isEmbedding;
    }

    /// <summary>AdamW over <paramref name="module"/>'s trainable parameters, grouped by <see cref="Split"/>.</summary>
    public static AdamW CreateAdamW(nn.Module module, TrainingOptions? options = null) => CreateAdamW(Split(module), options);

    /// <summary>
    /// AdamW with <paramref name="split"/>'s decayed group (weight decay <see cref="TrainingOptions.WeightDecay"/>) and
    /// undecayed group (0), the betas, epsilon and peak learning rate of <paramref name="options"/> (defaults when null).
    /// </summary>
    public static AdamW CreateAdamW(ParameterSplit split, TrainingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(split);
        options ??= new TrainingOptions();
        options.Validate();
        var groups = new List<AdamW.ParamGroup>();
        if (split.Decay.Count > 0) groups.Add(Group(split.Decay, options, options.WeightDecay));
        if (split.NoDecay.Count > 0) groups.Add(Group(split.NoDecay, options, 0));
        if (groups.Count == 0) throw new ArgumentException("split has no trainable parameters.", nameof(split));
        return new AdamW(groups, options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
    }

    private static AdamW.ParamGroup Group(IEnumerable<(string Name, Parameter Parameter)> parameters, TrainingOptions options, double weightDecay) =>
        new(parameters.Select(p => p.Parameter).ToList(), options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, weightDecay);
}
