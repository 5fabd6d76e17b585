using DiscreteGrad.Diagnostics;
using DiscreteGrad.Estimators;
using DiscreteGrad.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.ListOps;

/// <summary>What one pass of <see cref="DccgListOpsModel"/> produced, for a batch of B expressions of L tokens.</summary>
/// <param name="Logits">Logits over the 10 values of each expression, read at the root token (position 0): [B, 10].</param>
/// <param name="TokenLogits">
/// The same readout at every token, from the node states after the last round: [B, L, 10] (row 0 is <see cref="Logits"/>).
/// At an operator token it is the network's value of that sub-expression (the reference's intermediate-value readout).
/// </param>
/// <param name="Parents">
/// The parent matrix used for the messages, without gradient: [B, L, L], row i the distribution (one-hot when hard) of
/// token i's parent; rows of padding tokens are 0, and so is the root's row with <see cref="DccgRootEdge.None"/>.
/// </param>
/// <param name="ParentLogits">The masked parent logits q_i . k_j: [B, L, L] (padding columns -1e9, the root's row 0).</param>
/// <param name="RoundDigits">
/// The digit (0..9) the discrete-continuous component drew at each token after rounds 1..R-1 (hard sample, argmax of the
/// one-hot): [B, R - 1, L]; null for the continuous variant or a single round.
/// </param>
public sealed record DccgListOpsOutput(Tensor Logits, Tensor TokenLogits, Tensor Parents, Tensor ParentLogits, Tensor? RoundDigits);

/// <summary>
/// The ListOps model of David Friede and Mathias Niepert, "Efficient Learning of Discrete-Continuous Computation Graphs"
/// (NeurIPS 2021, Figure 1 bottom), as in the authors' code (nec-research/dccg, models/listops.py, class Net).
/// <para>ENCODER: token embedding E_enc (d = 60), two LSTMs (d -&gt; d) give q and k; parent logits S = q k^T, S[i, j] the
/// score of token j as token i's parent. The root's row is set to 0 (<see cref="DccgRootEdge"/>) and padding columns to
/// -1e9. A categorical node over the positions draws each token's parent, A[i] = node(S[i]) (relaxed Gumbel-softmax with
/// temperature tau and Gumbel scale beta in training, a hard sample in evaluation).</para>
/// <para>DECODER: a GNN over the sampled edges with its own token embedding e_i = E(token_i) and x^0 = e. Round r:
/// m_i = sum_j A[j, i] relu(W2 dropout(relu(W1 [e_i; x_j] + b1)) + b2), x^r = x^{r-1} + m (the message to token i comes
/// from each token j that chose i as parent). After rounds 1..R-1, x^r goes through a discrete-continuous component
/// (the paper's eq. 2): theta = out_fc2(relu(out_fc1(x^r))) (10 logits, the same MLP as the readout), z from a 10-way
/// categorical node, v = z^T E[digits] (the centroids are the decoder's digit embeddings), with DropRes x^r = v + x^r with
/// probability 1 - alpha (one coin per round and batch), else x^r = v. READOUT: out_fc2(relu(out_fc1(x^R_0))) at the root.</para>
/// <para>Efficient messages: W1 [e_i; x_j] = W1e e_i + W1x x_j, so the per-parent part (computed once, e is fixed) and the
/// per-child part [B, L, H] are added by broadcasting to [B, L, L, H] only at the first layer's pre-activation, and the
/// A-weighted sum over children is one batched matrix product. In evaluation the parent matrix is one-hot, and only the
/// L sampled pairs are computed (<see cref="DccgListOpsOptions.SparseHardMessages"/>).</para>
/// <para>Padding: the mask marks real tokens; padding must trail (the LSTMs run left to right, so real positions then see
/// only real tokens). Padding tokens are never chosen as parents and send no messages, so a padded expression gets the
/// same result as the expression alone.</para>
/// <para>Hooks for training: <see cref="Tau"/>, <see cref="Beta"/> (TempMatch) and <see cref="Alpha"/> (DropRes) set both
/// nodes and the component; <c>eval()</c> gives the reference's evaluation (hard samples, no residual, i.e. alpha = 1,
/// and a sample from Cat(softmax(theta)), i.e. Gumbel-max with beta = 1). <see cref="Tracker"/> records the gradient of the
/// loss with respect to each round's node state (Figure 6 of the paper).</para>
/// </summary>
public sealed class DccgListOpsModel : nn.Module<Tensor, Tensor>
{
    /// <summary>Logit given to excluded positions (padding columns): finite, so that the library's estimators accept it.</summary>
    public const double MaskedLogit = -1e9;

    private readonly Embedding encoderEmbed;
    private readonly LSTM rnnQ, rnnK;
    private readonly Embedding embed;
    private readonly Linear msgFc1, msgFc2, outFc1, outFc2;
    private readonly Dropout dropout;
    private readonly CategoricalNode edgeNode;
    private readonly DiscreteContinuousComponent digit;
    private readonly DccgListOpsOptions _options;
    private int _rounds;

    /// <summary>Builds the network (weights from TorchSharp's global generator, the nodes' draws from <paramref name="generator"/>).</summary>
    /// <param name="options">The configuration (validated).</param>
    /// <param name="generator">Random source of the parent and digit draws and of the DropRes coins (null: the global one).</param>
    public DccgListOpsModel(DccgListOpsOptions? options = null, Generator? generator = null) : base(nameof(DccgListOpsModel))
    {
        _options = options ?? new DccgListOpsOptions();
        _options.Validate();
        _rounds = _options.Rounds;
        int d = _options.Dim, rows = _options.EmbeddingRows;
        encoderEmbed = nn.Embedding(rows, d, padding_idx: _options.PaddingId);
        rnnQ = nn.LSTM(d, d, batchFirst: true);
        rnnK = nn.LSTM(d, d, batchFirst: true);
        embed = nn.Embedding(rows, d, padding_idx: _options.PaddingId);
        msgFc1 = nn.Linear(2 * d, d);
        msgFc2 = nn.Linear(d, d);
        outFc1 = nn.Linear(d, d);
        outFc2 = nn.Linear(d, DccgListOpsOptions.Digits, hasBias: false);
        dropout = nn.Dropout(_options.MessageDropout);
        var nodeOptions = new EstimatorOptions(Tau: _options.Tau, Beta: _options.Beta);
        edgeNode = new CategoricalNode(_options.Estimator, nodeOptions, _options.Evaluation, generator: generator);
        // g and h hold no parameters of their own (delegates to out_fc1/out_fc2 and to the digit rows of the decoder's
        // embedding), so every weight is registered once, here.
        digit = new DiscreteContinuousComponent(new Delegated("readout", Readout),
            new CategoricalNode(_options.Estimator, nodeOptions, _options.Evaluation, generator: generator),
            new Delegated("digit_embedding", z => z.matmul(DigitEmbeddings)),
            _options.DropRes ? DropResMode.PerBatch : DropResMode.None, generator);
        RegisterComponents();
    }

    /// <summary>The configuration.</summary>
    public DccgListOpsOptions Options => _options;

    /// <summary>Number of message-passing rounds R (settable: the reference evaluates with 8 and 10 on longer expressions).</summary>
    public int Rounds
    {
        get => _rounds;
        set { Guard.AtLeast(value, 1, nameof(Rounds)); _rounds = value; }
    }

    /// <summary>Temperature tau of both categorical nodes.</summary>
    public double Tau
    {
        get => edgeNode.Tau;
        set { edgeNode.Tau = value; digit.Node.Tau = value; }
    }

    /// <summary>Gumbel scale beta of both categorical nodes (TempMatch: beta_t = tau (1 - e^(-gamma t))).</summary>
    public double Beta
    {
        get => edgeNode.Beta;
        set { edgeNode.Beta = value; digit.Node.Beta = value; }
    }

    /// <summary>DropRes alpha in [0, 1], the probability of dropping the residual (rises 0 -&gt; 1 in training).</summary>
    public double Alpha
    {
        get => digit.Alpha;
        set => digit.Alpha = value;
    }

    /// <summary>
    /// Random source of the parent draws, the digit draws and the DropRes coins (setting it sets all three; a task can swap
    /// in a separate generator for evaluation so that evaluation draws never touch the training stream).
    /// </summary>
    public Generator? Generator
    {
        get => edgeNode.Generator;
        set { edgeNode.Generator = value; digit.Node.Generator = value; digit.Generator = value; }
    }

    /// <summary>
    /// When set, each forward pass with gradient tracks the node states <c>round0</c> (the embeddings x^0) to
    /// <c>roundR</c> (x^r = x^{r-1} + m, before the digit component), so that after <c>backward()</c> the tracker gives
    /// mean |dL/dx^r| per round (Figure 6 of the paper); call <see cref="GradientTracker.Clear"/> before the next pass.
    /// </summary>
    public GradientTracker? Tracker { get; set; }

    /// <summary>The categorical node that draws the parents.</summary>
    public CategoricalNode EdgeNode => edgeNode;

    /// <summary>The digit component (unused by the continuous variant).</summary>
    public DiscreteContinuousComponent Digit => digit;

    /// <summary>The digit embeddings E[FirstDigitId .. FirstDigitId + 9], the component's centroids: [10, d].</summary>
    public Tensor DigitEmbeddings => embed.weight!.narrow(0, _options.FirstDigitId, DccgListOpsOptions.Digits);

    internal Linear MessageLayer1 => msgFc1;
    internal Linear MessageLayer2 => msgFc2;
    internal Linear ReadoutLayer1 => outFc1;
    internal Linear ReadoutLayer2 => outFc2;
    internal Embedding DecoderEmbedding => embed;

    /// <summary>Logits [B, 10] of the expressions' values for token ids [B, L] (padding from <see cref="DccgListOpsOptions.PaddingId"/>).</summary>
    public override Tensor forward(Tensor tokens)
    {
        using var scope = torch.NewDisposeScope();
        var o = Forward(tokens);
        return scope.MoveToOuter(o.Logits.clone());
    }

    /// <summary>The full pass for token ids [B, L] (int64) and an optional mask [B, L] (bool, true at real tokens).</summary>
    /// <param name="tokens">Token ids; position 0 is the root (the outermost operator).</param>
    /// <param name="mask">Real tokens; null: every token whose id is not the padding id. Padding must trail.</param>
    public DccgListOpsOutput Forward(Tensor tokens, Tensor? mask = null)
    {
        var real = CheckInputs(tokens, mask);
        using var scope = torch.NewDisposeScope();
        long l = tokens.shape[1];
        var logits = ParentLogits(tokens, real);
        // A single token has one candidate parent (itself), which needs no draw (the node needs K >= 2 categories).
        var a = l == 1 ? torch.ones_like(logits)
            : _options.Variant == DccgListOpsVariant.Discrete ? edgeNode.Sample(logits).Value : logits.softmax(-1);
        a = a * SendingRows(real).unsqueeze(-1).to(a.dtype);

        var e = embed.call(tokens);
        var perParent = PerParent(e);
        bool sparse = !training && _options.Variant == DccgListOpsVariant.Discrete && _options.SparseHardMessages;
        var x = e;
        Tracker?.Track("round0", x);
        var digits = new List<Tensor>();
        for (int r = 1; r <= _rounds; r++)
        {
            var u = x + (sparse ? SparseMessages(perParent, x, a) : DenseMessages(perParent, x, a));
            Tracker?.Track($"round{r}", u);
            if (r < _rounds && _options.Variant == DccgListOpsVariant.Discrete)
            {
                var o = digit.Forward(u);
                x = o.Output;
                digits.Add(o.Sample.Hard.argmax(-1));
            }
            else x = u;
        }
        var tokenLogits = Readout(x);
        var answer = tokenLogits.select(1, 0);
        var roundDigits = digits.Count > 0 ? scope.MoveToOuter(torch.stack(digits, 1)) : null;
        return new DccgListOpsOutput(scope.MoveToOuter(answer), scope.MoveToOuter(tokenLogits), scope.MoveToOuter(a.detach()),
            scope.MoveToOuter(logits), roundDigits);
    }

    /// <summary>
    /// The masked parent logits S = q k^T [B, L, L]: rows of the root and of padding tokens 0 (before the padding columns
    /// are masked), padding columns <see cref="MaskedLogit"/>.
    /// </summary>
    public Tensor ParentLogits(Tensor tokens, Tensor real)
    {
        using var scope = torch.NewDisposeScope();
        var x = encoderEmbed.call(tokens);
        var (q, _, _) = rnnQ.call(x);
        var (k, _, _) = rnnK.call(x);
        var s = q.bmm(k.transpose(1, 2));
        var position = torch.arange(tokens.shape[1], device: tokens.device);
        var reset = real.logical_not().logical_or(position == 0).unsqueeze(-1);          // [B, L, 1]
        s = s.masked_fill(reset, 0).masked_fill(real.logical_not().unsqueeze(1), MaskedLogit);
        return scope.MoveToOuter(s);
    }

    /// <summary>
    /// Messages m [B, L, H] for node states x [B, L, d], token embeddings e [B, L, d] and parent matrix A [B, L, L]:
    /// m_i = sum_j A[j, i] MLP([e_i; x_j]) (dense: every pair; <paramref name="sparse"/>: only the pair (argmax_i A[j], j)
    /// of each j, exact when every row of A is one-hot or zero).
    /// </summary>
    internal Tensor Messages(Tensor e, Tensor x, Tensor a, bool sparse)
    {
        using var scope = torch.NewDisposeScope();
        var perParent = PerParent(e);
        return scope.MoveToOuter(sparse ? SparseMessages(perParent, x, a) : DenseMessages(perParent, x, a));
    }

    /// <summary>The per-parent part of the first message layer, W1e e_i + b1 [B, L, H].</summary>
    private Tensor PerParent(Tensor e)
    {
        int d = _options.Dim;
        return e.matmul(msgFc1.weight!.narrow(1, 0, d).t()) + msgFc1.bias!;
    }

    private Tensor PerChild(Tensor x)
    {
        int d = _options.Dim;
        return x.matmul(msgFc1.weight!.narrow(1, d, d).t());
    }

    private Tensor DenseMessages(Tensor perParent, Tensor x, Tensor a)
    {
        long b = x.shape[0], l = x.shape[1];
        var pre = perParent.unsqueeze(2) + PerChild(x).unsqueeze(1);          // [B, i, j, H]: W1 [e_i; x_j] + b1
        var h = msgFc2.call(dropout.call(pre.relu_())).relu_();               // [B, i, j, H]
        long hd = h.shape[3];
        // m[b, i] = sum_j A[b, j, i] h[b, i, j]: a [B L, 1, L] x [B L, L, H] product.
        var w = a.transpose(1, 2).reshape(b * l, 1, l);
        return w.bmm(h.reshape(b * l, l, hd)).reshape(b, l, hd);
    }

    private Tensor SparseMessages(Tensor perParent, Tensor x, Tensor a)
    {
        long b = x.shape[0], l = x.shape[1], hd = perParent.shape[2];
        var parent = a.argmax(-1);                                              // [B, L]: the parent of each child j
        var weight = a.gather(2, parent.unsqueeze(-1));                         // [B, L, 1]: 1, or 0 for rows that send nothing
        var index = parent.unsqueeze(-1).expand(b, l, hd);
        var pre = perParent.gather(1, index) + PerChild(x);                     // [B, j, H]: W1 [e_parent(j); x_j] + b1
        var h = msgFc2.call(dropout.call(pre.relu_())).relu_();
        return torch.zeros(new long[] { b, l, hd }, dtype: h.dtype, device: h.device).scatter_add(1, index, h * weight);
    }

    private Tensor Readout(Tensor x) => outFc2.call(outFc1.call(x).relu());

    private Tensor SendingRows(Tensor real)
    {
        if (_options.RootEdge == DccgRootEdge.Uniform) return real;
        var position = torch.arange(real.shape[1], device: real.device);
        return real.logical_and(position != 0);
    }

    private Tensor CheckInputs(Tensor tokens, Tensor? mask)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.dim() != 2 || tokens.shape[1] < 1 || tokens.dtype != ScalarType.Int64)
            throw new ArgumentException($"tokens must be int64 token ids [B, L] with L >= 1 (got {tokens.dtype} [{string.Join(", ", tokens.shape)}]).", nameof(tokens));
        if (mask is null) return tokens != _options.PaddingId;
        if (mask.dtype != ScalarType.Bool || !mask.shape.SequenceEqual(tokens.shape))
            throw new ArgumentException($"mask must be bool of the tokens' shape [{string.Join(", ", tokens.shape)}] (got {mask.dtype} [{string.Join(", ", mask.shape)}]).", nameof(mask));
        return mask;
    }

    /// <summary>A parameter-free module around a function (the component's g and h share the model's weights).</summary>
    private sealed class Delegated : nn.Module<Tensor, Tensor>
    {
        private readonly Func<Tensor, Tensor> _f;

        public Delegated(string name, Func<Tensor, Tensor> f) : base(name) => _f = f;

        public override Tensor forward(Tensor x) => _f(x);
    }
}
