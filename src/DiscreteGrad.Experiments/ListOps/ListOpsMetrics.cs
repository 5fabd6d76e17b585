using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.ListOps;

/// <summary>A count of correct cases out of a total; add tallies of batches with +.</summary>
/// <param name="Correct">Number of correct cases.</param>
/// <param name="Count">Number of cases.</param>
public readonly record struct Tally(long Correct, long Count)
{
    /// <summary>Correct / Count (NaN when Count is 0).</summary>
    public double Rate => Count == 0 ? double.NaN : (double)Correct / Count;

    /// <summary>The sum of two tallies.</summary>
    public static Tally operator +(Tally a, Tally b) => new(a.Correct + b.Correct, a.Count + b.Count);
}

/// <summary>
/// The evaluation measures of the DCCG paper's ListOps experiment (David Friede and Mathias Niepert, "Efficient Learning of
/// Discrete-Continuous Computation Graphs", NeurIPS 2021), as the authors' <c>test</c> function in run_listops.py computes
/// them. Each returns a <see cref="Tally"/>, so batches add up.
/// </summary>
public static class ListOpsMetrics
{
    /// <summary>Expressions whose argmax value equals the target: logits [B, C], targets [B] (int64).</summary>
    public static Tally Accuracy(Tensor logits, Tensor targets)
    {
        if (logits.dim() != 2 || targets.dim() != 1 || targets.shape[0] != logits.shape[0])
            throw new ArgumentException($"logits must be [B, C] and targets [B] (got [{string.Join(", ", logits.shape)}] and [{string.Join(", ", targets.shape)}]).");
        using var scope = NewDisposeScope();
        long correct = (logits.argmax(-1) == targets.to(ScalarType.Int64)).sum().item<long>();
        return new Tally(correct, logits.shape[0]);
    }

    /// <summary>
    /// Parent-edge recall: over the counted tokens, the fraction whose most probable parent, argmax_j A[b, i, j], is the true
    /// parent. Counted: real tokens (mask) other than the root (position 0) and, when <paramref name="closingBracketId"/> is
    /// given, other than closing brackets; the reference counts rows whose token id is not 0, its id of "]" (it has no
    /// padding), and excludes the root. With hard parents (evaluation) this is the reference's edge_correct / edge_num_true.
    /// </summary>
    /// <param name="parents">Parent matrix [B, L, L] (row i: token i's parent distribution).</param>
    /// <param name="trueParents">True parent position per token [B, L] (int64; any value at the root and at padding).</param>
    /// <param name="tokens">Token ids [B, L].</param>
    /// <param name="mask">Real tokens [B, L] (bool).</param>
    /// <param name="closingBracketId">Id of "]" to leave out (0 in the reference vocabulary), or null to count brackets too.</param>
    public static Tally ParentRecall(Tensor parents, Tensor trueParents, Tensor tokens, Tensor mask, long? closingBracketId = 0)
    {
        if (parents.dim() != 3 || !trueParents.shape.SequenceEqual(parents.shape[..2]) || !tokens.shape.SequenceEqual(trueParents.shape)
            || !mask.shape.SequenceEqual(trueParents.shape))
            throw new ArgumentException("parents must be [B, L, L] and trueParents, tokens and mask [B, L].");
        using var scope = NewDisposeScope();
        var counted = CountedTokens(tokens, mask, closingBracketId);
        var hit = (parents.argmax(-1) == trueParents.to(ScalarType.Int64)).logical_and(counted);
        return new Tally(hit.sum().item<long>(), counted.sum().item<long>());
    }

    /// <summary>
    /// Intermediate-value accuracy: at the operator tokens other than the root, whether the value the network reads out
    /// there, argmax of <paramref name="tokenLogits"/>, equals the value of the sub-expression that operator opens. The
    /// reference (run_listops.py, <c>test_inter</c>) reads the 10-way logits out_fc2(relu(out_fc1(x))) of the final node
    /// states, after all R rounds, which is <see cref="DccgListOpsOutput.TokenLogits"/>: the digit the discrete component
    /// would pick (argmax) at the last state; the root is left out (<c>inter_mask[:, 0] = 0</c>).
    /// </summary>
    /// <param name="tokenLogits">Per-token value logits [B, L, 10].</param>
    /// <param name="values">True value 0..9 of the sub-expression at each operator token [B, L] (int64; any value elsewhere).</param>
    /// <param name="operators">Operator tokens [B, L] (bool; the reference's inter_mask).</param>
    public static Tally IntermediateAccuracy(Tensor tokenLogits, Tensor values, Tensor operators)
    {
        if (tokenLogits.dim() != 3 || !values.shape.SequenceEqual(tokenLogits.shape[..2]) || !operators.shape.SequenceEqual(values.shape))
            throw new ArgumentException("tokenLogits must be [B, L, C] and values and operators [B, L].");
        using var scope = NewDisposeScope();
        var position = arange(values.shape[1], device: values.device);
        var counted = operators.to(ScalarType.Bool).logical_and(position != 0);
        var hit = (tokenLogits.argmax(-1) == values.to(ScalarType.Int64)).logical_and(counted);
        return new Tally(hit.sum().item<long>(), counted.sum().item<long>());
    }

    /// <summary>The tokens <see cref="ParentRecall"/> counts: real, not the root, not a closing bracket (when its id is given).</summary>
    public static Tensor CountedTokens(Tensor tokens, Tensor mask, long? closingBracketId = 0)
    {
        using var scope = NewDisposeScope();
        var position = arange(tokens.shape[1], device: tokens.device);
        var counted = mask.to(ScalarType.Bool).logical_and(position != 0);
        if (closingBracketId is long id) counted = counted.logical_and(tokens != id);
        return scope.MoveToOuter(counted);
    }
}
