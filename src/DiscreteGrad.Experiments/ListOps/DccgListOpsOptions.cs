using DiscreteGrad.Estimators;
using DiscreteGrad.Layers;

namespace DiscreteGrad.Experiments.ListOps;

/// <summary>Which network <see cref="DccgListOpsModel"/> builds.</summary>
public enum DccgListOpsVariant
{
    /// <summary>
    /// The discrete-continuous computation graph: each token draws its parent from a categorical node over the positions,
    /// and after every message-passing round but the last the node states pass through a 10-way discrete-continuous
    /// component whose categories are the digit embeddings.
    /// </summary>
    Discrete,
    /// <summary>
    /// The continuous baseline: the same network with softmax attention over the positions in place of the sampled parent
    /// and no discrete-continuous component (deterministic in training and evaluation).
    /// </summary>
    Continuous,
}

/// <summary>How the root token's row of the parent matrix (position 0, which has no parent) is treated.</summary>
public enum DccgRootEdge
{
    /// <summary>
    /// As the authors' code (nec-research/dccg, models/listops.py, <c>A[:, 0, :] = 0</c> before the Gumbel-softmax): the
    /// root's parent logits are set to 0, so the root draws a parent uniformly among the (real) positions and sends its
    /// message there like any other token.
    /// </summary>
    Uniform,
    /// <summary>The root's row is zeroed after sampling: the root sends no message.</summary>
    None,
}

/// <summary>
/// Configuration of <see cref="DccgListOpsModel"/>. The defaults are those of the authors' ListOps code (nec-research/dccg,
/// models/listops.py and run_listops.py): dimension 60, 5 message-passing rounds, message dropout 0.1, the relaxed
/// Gumbel-softmax in training, hard samples in evaluation, DropRes with one coin per round and batch, and the 14-token
/// vocabulary <c>] [MIN [MAX [MED 0 1 2 3 4 5 6 7 8 9</c> (ids 0..13, digits from id 4) with padding id 14.
/// <para>The reference's training recipe (run_listops.py), for the task that trains this model: Adam, lr 5e-4, batch 100
/// (batches of equal-length expressions, so without padding), 100 epochs, cross-entropy summed over the batch; tau = 1;
/// TempMatch beta_t = tau (1 - e^(-0.008 t)) from beta = 0 and DropRes alpha += 1/500 from alpha = 0, both updated 10 times
/// per epoch (at every tenth of the epoch's batches, the first included); evaluation after each epoch with hard samples,
/// alpha = 1, beta = 1, keeping the best development accuracy; extrapolation tests with 8 and 10 rounds.</para>
/// </summary>
public sealed record DccgListOpsOptions
{
    /// <summary>Width d of the token embeddings, the LSTMs, the node states and the MLPs (60).</summary>
    public int Dim { get; init; } = 60;
    /// <summary>Number of message-passing rounds (5 in training; the reference evaluates with 8 and 10 on longer expressions).</summary>
    public int Rounds { get; init; } = 5;
    /// <summary>Number of token ids of the vocabulary (14; 15 for the Nangia-Bowman vocabulary, which adds [SM).</summary>
    public int VocabularySize { get; init; } = 14;
    /// <summary>Id of the padding token (14); may equal <see cref="VocabularySize"/> (then the embeddings get one extra row).</summary>
    public int PaddingId { get; init; } = 14;
    /// <summary>Id of the digit 0; the digits 0..9 are the ten ids from here (4).</summary>
    public int FirstDigitId { get; init; } = 4;
    /// <summary>Dropout probability after the first layer of the message MLP (0.1).</summary>
    public double MessageDropout { get; init; } = 0.1;
    /// <summary>Discrete network or the continuous baseline.</summary>
    public DccgListOpsVariant Variant { get; init; } = DccgListOpsVariant.Discrete;
    /// <summary>Estimator of both categorical nodes (the parent choice and the digit) in training (the relaxed Gumbel-softmax).</summary>
    public EstimatorKind Estimator { get; init; } = EstimatorKind.GumbelSoftmax;
    /// <summary>
    /// What the nodes return in evaluation: <see cref="EvalSampling.Sample"/> (the default) is a hard sample
    /// D ~ Cat(softmax(theta)), the reference's Gumbel-max with beta = 1; <see cref="EvalSampling.Argmax"/> the most probable category.
    /// </summary>
    public EvalSampling Evaluation { get; init; } = EvalSampling.Sample;
    /// <summary>DropRes residuals around the digit component (one coin per round and batch, as the reference).</summary>
    public bool DropRes { get; init; } = true;
    /// <summary>How the root's parent row is treated.</summary>
    public DccgRootEdge RootEdge { get; init; } = DccgRootEdge.Uniform;
    /// <summary>
    /// In evaluation, compute only the message along each token's sampled edge (O(L) pairs instead of L^2); the result is
    /// the same as the dense sum because the parent matrix is then one-hot per row.
    /// </summary>
    public bool SparseHardMessages { get; init; } = true;
    /// <summary>Initial temperature tau of both nodes (the reference's default 1).</summary>
    public double Tau { get; init; } = 1.0;
    /// <summary>Initial Gumbel scale beta of both nodes (TempMatch starts it at 0 and raises it towards tau).</summary>
    public double Beta { get; init; } = 1.0;

    /// <summary>Number of digit categories (the values of a ListOps expression, 0..9).</summary>
    public const int Digits = 10;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        Guard.AtLeast(Dim, 1, nameof(Dim));
        Guard.AtLeast(Rounds, 1, nameof(Rounds));
        Guard.AtLeast(VocabularySize, FirstDigitId + Digits, nameof(VocabularySize));
        Guard.AtLeast(PaddingId, 0, nameof(PaddingId));
        Guard.AtLeast(FirstDigitId, 0, nameof(FirstDigitId));
        if (PaddingId >= FirstDigitId && PaddingId < FirstDigitId + Digits)
            throw new ArgumentOutOfRangeException(nameof(PaddingId), PaddingId,
                $"PaddingId must not be a digit id ({FirstDigitId}..{FirstDigitId + Digits - 1}) (got {PaddingId}).");
        if (!(MessageDropout >= 0 && MessageDropout < 1))
            throw new ArgumentOutOfRangeException(nameof(MessageDropout), MessageDropout, $"MessageDropout must be in [0, 1) (got {MessageDropout}).");
        Guard.Temperature(Tau, nameof(Tau));
        Guard.Scale(Beta, nameof(Beta));
    }

    /// <summary>Rows of the embedding tables: the vocabulary, and the padding id when it lies beyond it.</summary>
    public int EmbeddingRows => Math.Max(VocabularySize, PaddingId + 1);
}
