namespace ModelForge.Model;

/// <summary>
/// The batch dim: the symbolic dim that counts samples. Validation runs the model at each batch size, engine profiles
/// span it from 1 to the largest batch, the tuner varies it, and the build takes the validation batches and the
/// bundles' largest batch from its range. Every stage asks this class, so they agree on which dim it is.
/// <para>
/// The rule: <b>the batch dim is the symbol at dim 0 of the first input, when that dim is symbolic</b>; otherwise the
/// model has no batch dim. A symbol names one size, so the batch size goes wherever the symbol appears (in any input, at
/// any position), and an input is batched when its own dim 0 carries it. Every other symbolic
/// dim (a sequence length, say) is sized by the caller: <c>--dim</c> or the spec's <c>dims</c>.
/// </para>
/// <para>
/// Why dim 0 of the first input: serving batches by stacking requests along dim 0 of the inputs (Triton with
/// <c>max_batch_size</c> above 0 requires it of every input), so a model whose first input has no symbolic dim 0 is not
/// one a server can batch, whatever its other inputs declare. One dim in one place is also easy to predict and to
/// change: the order of <c>--input</c> (or of the spec's inputs) decides it. The alternatives the stages used before
/// disagree on simple models: "dim 0 of any input" gives <c>a:[n,3]</c>, <c>b:[m,3]</c> two batch dims, and "each
/// input's first symbolic dim" makes <c>seq</c> the batch dim of <c>mask:[seq,batch]</c> but not of <c>x:[batch,seq]</c>.
/// </para>
/// </summary>
public static class BatchDim
{
    /// <summary>The batch dim's symbol, or null when the first input's dim 0 is static (or there are no inputs, or it is a scalar).</summary>
    public static string? Of(IReadOnlyList<InputSpec> inputs) =>
        inputs.Count > 0 && inputs[0].Dims is [{ Symbol: { } symbol }, ..] ? symbol : null;
}
