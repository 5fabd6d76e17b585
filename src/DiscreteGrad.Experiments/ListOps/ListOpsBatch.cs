using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// A batch of B ListOps examples as tensors, right-padded to the longest length L:
/// <see cref="Tokens"/> int64 [B, L] (padding <see cref="PadId"/>), <see cref="Mask"/> bool [B, L] (true at real
/// tokens), <see cref="Parents"/> int64 [B, L] (<see cref="ListOpsExample.Parents"/>, -1 at the root and at padding),
/// <see cref="Values"/> int64 [B, L] (<see cref="ListOpsExample.Values"/>, -1 at <c>]</c> and at padding),
/// <see cref="OperatorMask"/> bool [B, L] (true at operator tokens: DCCG's <c>inter_mask</c>),
/// <see cref="Targets"/> int64 [B] and <see cref="Lengths"/> int64 [B]. The tensors are detached from any dispose
/// scope and owned by the batch.
/// </summary>
public sealed class ListOpsBatch : IDisposable
{
    private ListOpsBatch(Tensor tokens, Tensor mask, Tensor parents, Tensor values, Tensor operatorMask, Tensor targets, Tensor lengths, long padId)
    {
        Tokens = tokens;
        Mask = mask;
        Parents = parents;
        Values = values;
        OperatorMask = operatorMask;
        Targets = targets;
        Lengths = lengths;
        PadId = padId;
    }

    /// <summary>Token ids, int64 [B, L].</summary>
    public Tensor Tokens { get; }
    /// <summary>True at real tokens, false at padding, bool [B, L].</summary>
    public Tensor Mask { get; }
    /// <summary>Parent operator index of each token, -1 at the root and at padding, int64 [B, L].</summary>
    public Tensor Parents { get; }
    /// <summary>Value of each sub-expression, -1 at <c>]</c> and at padding, int64 [B, L].</summary>
    public Tensor Values { get; }
    /// <summary>True at operator tokens, bool [B, L].</summary>
    public Tensor OperatorMask { get; }
    /// <summary>Value of each expression, int64 [B].</summary>
    public Tensor Targets { get; }
    /// <summary>Token count of each expression, int64 [B].</summary>
    public Tensor Lengths { get; }
    /// <summary>The id at padded positions of <see cref="Tokens"/>.</summary>
    public long PadId { get; }
    /// <summary>Batch size B.</summary>
    public long Count => Targets.shape[0];

    /// <summary>
    /// Converts <paramref name="examples"/> (at least one). <paramref name="padTo"/> fixes L (at least the longest
    /// example); <paramref name="padId"/> is <see cref="ListOpsVocabulary.Pad"/> unless given (e.g.
    /// <see cref="ListOpsVocabulary.Close"/> for a 14-entry DCCG embedding, with <see cref="Mask"/> telling padding
    /// apart).
    /// </summary>
    public static ListOpsBatch Create(IReadOnlyList<ListOpsExample> examples, Device? device = null, long padId = ListOpsVocabulary.Pad, int? padTo = null)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("a batch needs at least one example.", nameof(examples));
        int b = examples.Count, l = examples.Max(e => e.Length);
        if (padTo is int p)
        {
            if (p < l) throw new ArgumentException($"padTo {p} is shorter than the longest example ({l} tokens).", nameof(padTo));
            l = p;
        }
        var tokens = new long[b * l];
        var mask = new bool[b * l];
        var parents = new long[b * l];
        var values = new long[b * l];
        var ops = new bool[b * l];
        var targets = new long[b];
        var lengths = new long[b];
        Array.Fill(tokens, padId);
        Array.Fill(parents, -1L);
        Array.Fill(values, -1L);
        for (int i = 0; i < b; i++)
        {
            var e = examples[i] ?? throw new ArgumentException($"example {i} is null.", nameof(examples));
            var t = e.TokenSpan;
            var par = e.Parents;
            var val = e.Values;
            for (int j = 0; j < t.Length; j++)
            {
                int k = i * l + j;
                tokens[k] = t[j];
                mask[k] = true;
                parents[k] = par[j];
                values[k] = val[j];
                ops[k] = ListOpsVocabulary.IsOperator(t[j]);
            }
            targets[i] = e.Target;
            lengths[i] = e.Length;
        }
        var shape = new long[] { b, l };
        var dev = device ?? CPU;
        return new ListOpsBatch(
            torch.tensor(tokens, shape, ScalarType.Int64, dev).DetachFromDisposeScope(),
            torch.tensor(mask, shape, ScalarType.Bool, dev).DetachFromDisposeScope(),
            torch.tensor(parents, shape, ScalarType.Int64, dev).DetachFromDisposeScope(),
            torch.tensor(values, shape, ScalarType.Int64, dev).DetachFromDisposeScope(),
            torch.tensor(ops, shape, ScalarType.Bool, dev).DetachFromDisposeScope(),
            torch.tensor(targets, new long[] { b }, ScalarType.Int64, dev).DetachFromDisposeScope(),
            torch.tensor(lengths, new long[] { b }, ScalarType.Int64, dev).DetachFromDisposeScope(),
            padId);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Tokens.Dispose();
        Mask.Dispose();
        Parents.Dispose();
        Values.Dispose();
        OperatorMask.Dispose();
        Targets.Dispose();
        Lengths.Dispose();
    }
}
