namespace DiffTransformer;

/// <summary>
/// What <see cref="Trainer.Step"/> does when a step's loss or gradient norm is NaN or infinite. Both are checked after
/// the backward passes and before the optimizer update, so the poisoned gradients never reach the weights or the AdamW
/// moments (with gradient accumulation, any micro-batch's non-finite loss makes the step's loss non-finite; in bfloat16
/// training the norm is taken over the float32 master gradients).
/// </summary>
public enum NonFinitePolicy
{
    /// <summary>
    /// Throw a <see cref="NonFiniteStepException"/> naming the step, the loss and the gradient norm. The step is not
    /// counted: weights, optimizer state, counters and the trainer's gradients are as before the call.
    /// </summary>
    Throw,

    /// <summary>
    /// Skip the update and go on: the step counts as completed (the next step reads the next batches and uses the next
    /// learning rate), the weights and optimizer state stay as they were, its tokens are not added to
    /// <see cref="Trainer.Tokens"/>, and the report says <see cref="TrainingProgress.StepSkipped"/>.
    /// </summary>
    SkipStep,
}
