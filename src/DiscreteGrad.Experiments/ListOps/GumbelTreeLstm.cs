using DiscreteGrad.Estimators;
using DiscreteGrad.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// Configuration of the Gumbel Tree-LSTM (Jihun Choi, Kang Min Yoo and Sang-goo Lee, "Learning to Compose Task-Specific
/// Tree Structures", AAAI 2018) as the ReinMax paper's ListOps experiment runs it (LiyuanLucasLiu/ReinMax, listops/:
/// <c>--word-dim 300 --hidden-dim 300 --clf-hidden-dim 300 --clf-num-layers 1 --leaf-rnn --dropout 0.5 --temperature 1.1
/// --batch-size 16</c>). The vocabulary defaults to the 15 tokens of the Nangia-Bowman ListOps data (ids 0..14) with
/// padding id 15.
/// <para>The reference's training recipe (listops/nlp/train.py and the README's command), for the task that trains this
/// model: RAdam (lr 7e-4, no weight decay), gradient norm clipped at 5, batch 16 from a bucket iterator (similar lengths),
/// 20 epochs, mean cross-entropy, validation twice per epoch with ReduceLROnPlateau (mode max, factor 0.5, patience 4
/// validations); expressions of fewer than 100 tokens after its tokenisation, which removes "(" and ")", lower-cases, and
/// splits "[MIN" into "[" and "min".</para>
/// </summary>
public sealed record GumbelTreeLstmOptions
{
    /// <summary>Number of token ids (15).</summary>
    public int VocabularySize { get; init; } = 15;
    /// <summary>Id of the padding token (15); may equal <see cref="VocabularySize"/> (the embedding then gets one extra row).</summary>
    public int PaddingId { get; init; } = 15;
    /// <summary>Width of the word embeddings (300).</summary>
    public int WordDim { get; init; } = 300;
    /// <summary>Width H of the leaf and tree LSTM states (300).</summary>
    public int HiddenDim { get; init; } = 300;
    /// <summary>Width of the classifier's hidden layers (300).</summary>
    public int ClassifierHiddenDim { get; init; } = 300;
    /// <summary>Number of hidden (Linear + ReLU) layers of the classifier (1).</summary>
    public int ClassifierLayers { get; init; } = 1;
    /// <summary>Leaves from a left-to-right LSTM over the embeddings (true, <c>--leaf-rnn</c>); false: a linear map to (h, c).</summary>
    public bool LeafRnn { get; init; } = true;
    /// <summary>Dropout probability on the embeddings and around the classifier's hidden layers (0.5).</summary>
    public double Dropout { get; init; } = 0.5;
    /// <summary>Number of classes (10). The reference's label vocabulary also holds torchtext's unused &lt;unk&gt;, so 11 reproduces it exactly.</summary>
    public int Classes { get; init; } = 10;
    /// <summary>Estimator of the merge choice in training (ReinMax; also STGS, GR-MCK, GST, ST).</summary>
    public EstimatorKind Estimator { get; init; } = EstimatorKind.ReinMax;
    /// <summary>Temperature tau of the estimator (1.1, <c>--temperature</c>).</summary>
    public double Tau { get; init; } = 1.1;
    /// <summary>Gumbel scale of STGS (1, as <c>F.gumbel_softmax</c>).</summary>
    public double Beta { get; init; } = 1.0;
    /// <summary>Gap of GST (1.0: GST-1.0).</summary>
    public double Gap { get; init; } = 1.0;
    /// <summary>Number K of conditional Gumbel draws of GR-MCK (100).</summary>
    public int GumbelRaoK { get; init; } = 100;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        Guard.AtLeast(VocabularySize, 1, nameof(VocabularySize));
        Guard.AtLeast(PaddingId, 0, nameof(PaddingId));
        Guard.AtLeast(WordDim, 1, nameof(WordDim));
        Guard.AtLeast(HiddenDim, 1, nameof(HiddenDim));
        Guard.AtLeast(ClassifierHiddenDim, 1, nameof(ClassifierHiddenDim));
        Guard.AtLeast(ClassifierLayers, 0, nameof(ClassifierLayers));
        Guard.AtLeast(Classes, 2, nameof(Classes));
        if (!(Dropout >= 0 && Dropout < 1))
            throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, $"Dropout must be in [0, 1) (got {Dropout}).");
        new EstimatorOptions(Tau, Beta, Gap, GumbelRaoK).Validate();
    }

    /// <summary>The estimator options of the merge node.</summary>
    public EstimatorOptions EstimatorOptions => new(Tau, Beta, Gap, GumbelRaoK);
}

/// <summary>
/// The binary Tree-LSTM composition of Choi, Yoo and Lee (2018) (ReinMax code, listops/model/treelstm.py,
/// BinaryTreeLSTMLayer): [i, f_l, f_r, u, o] = W [h_l; h_r] + b (W orthogonal, b = 0 at initialisation);
/// c = c_l sigmoid(f_l + 1) + c_r sigmoid(f_r + 1) + tanh(u) sigmoid(i); h = sigmoid(o) tanh(c).
/// </summary>
public sealed class TreeLstmComposition : nn.Module
{
    private readonly Linear comp_linear;
    private readonly long _hidden;

    /// <summary>Creates the layer for states of width <paramref name="hiddenDim"/>.</summary>
    public TreeLstmComposition(long hiddenDim) : base(nameof(TreeLstmComposition))
    {
        Guard.AtLeast(hiddenDim, 1, nameof(hiddenDim));
        _hidden = hiddenDim;
        comp_linear = nn.Linear(2 * hiddenDim, 5 * hiddenDim);
        RegisterComponents();
        ResetParameters();
    }

    /// <summary>Orthogonal weight, zero bias (as the reference's reset_parameters).</summary>
    public void ResetParameters()
    {
        using var _ = torch.no_grad();
        nn.init.orthogonal_(comp_linear.weight!);
        nn.init.constant_(comp_linear.bias!, 0);
    }

    /// <summary>The parent (h, c) of left and right children, each [..., H].</summary>
    public (Tensor H, Tensor C) Compose(Tensor hl, Tensor cl, Tensor hr, Tensor cr)
    {
        using var scope = torch.NewDisposeScope();
        var g = comp_linear.call(torch.cat(new[] { hl, hr }, -1)).chunk(5, -1);
        var c = cl * (g[1] + 1).sigmoid() + cr * (g[2] + 1).sigmoid() + g[3].tanh() * g[0].sigmoid();
        var h = g[4].sigmoid() * c.tanh();
        return (scope.MoveToOuter(h), scope.MoveToOuter(c));
    }

    /// <summary>Width H of the states.</summary>
    public long HiddenDim => _hidden;
}

/// <summary>What a pass of <see cref="GumbelTreeLstm"/> produced for B sequences of at most L tokens.</summary>
/// <param name="Root">h of the root [B, H].</param>
/// <param name="Cell">c of the root [B, H].</param>
/// <param name="Selections">
/// The hard merge choice of steps 0..L-3 (one-hot over the L-1-i candidate pairs of step i, without gradient; the last
/// step has a single pair and no choice). Rows of sequences already finished are meaningless (their merge is discarded).
/// </param>
public sealed record GumbelTreeLstmOutput(Tensor Root, Tensor Cell, IReadOnlyList<Tensor> Selections);

/// <summary>
/// The Gumbel Tree-LSTM encoder of Jihun Choi, Kang Min Yoo and Sang-goo Lee, "Learning to Compose Task-Specific Tree
/// Structures" (AAAI 2018), as in the ReinMax code (LiyuanLucasLiu/ReinMax, listops/model/treelstm.py, BinaryTreeLSTM,
/// unidirectional, no intra-attention).
/// <para>Leaves: a left-to-right LSTM cell over the embeddings gives (h, c) per token (weight_ih Kaiming-normal, weight_hh
/// orthogonal, biases 0 but the forget-gate part of bias_ih 1), or a linear map to [h; c]. Then L - 1 merge steps: at step
/// i the n = L - i states give n - 1 candidate parents, the composition of each adjacent pair
/// (<see cref="TreeLstmComposition"/>); their scores are q . h_k / sqrt(H) with a learned query q (N(0, 0.01^2)), pairs
/// beyond the sequence's current length are masked; a categorical node picks one pair (the chosen estimator in training,
/// argmax in evaluation), and the new sequence is the old one with that pair replaced by its parent:
/// h'_k = s_k h_new,k + (1 - cumsum(s)_k) h_k + (cumsum(s)_k - s_k) h_{k+1}. Sequences that are finished keep their state.
/// The last step has a single candidate and no choice.</para>
/// <para>Input: embeddings [B, L, D] and a mask [B, L] of real tokens, which must be a prefix (padding trails).</para>
/// </summary>
public sealed class GumbelTreeLstm : nn.Module
{
    private readonly LSTMCell? leaf_rnn_cell;
    private readonly Linear? word_linear;
    private readonly TreeLstmComposition treelstm_layer;
    private readonly Parameter comp_query;
    private readonly CategoricalNode node;
    private readonly long _hidden;

    /// <summary>Creates the encoder.</summary>
    /// <param name="wordDim">Width D of the inputs.</param>
    /// <param name="hiddenDim">Width H of the states.</param>
    /// <param name="leafRnn">LSTM leaves (true) or a linear leaf map.</param>
    /// <param name="estimator">Estimator of the merge choice in training.</param>
    /// <param name="options">Its tau, beta, gap, K.</param>
    /// <param name="generator">Random source of the merge draws.</param>
    public GumbelTreeLstm(long wordDim, long hiddenDim, bool leafRnn, EstimatorKind estimator, EstimatorOptions? options = null,
        Generator? generator = null) : base(nameof(GumbelTreeLstm))
    {
        Guard.AtLeast(wordDim, 1, nameof(wordDim));
        Guard.AtLeast(hiddenDim, 1, nameof(hiddenDim));
        _hidden = hiddenDim;
        if (leafRnn) leaf_rnn_cell = nn.LSTMCell(wordDim, hiddenDim);
        else word_linear = nn.Linear(wordDim, 2 * hiddenDim);
        treelstm_layer = new TreeLstmComposition(hiddenDim);
        comp_query = nn.Parameter(torch.empty(hiddenDim));
        node = new CategoricalNode(estimator, options, EvalSampling.Argmax, generator: generator);
        RegisterComponents();
        ResetParameters();
    }

    /// <summary>The merge node (its Tau is settable).</summary>
    public CategoricalNode Node => node;

    /// <summary>The composition layer.</summary>
    public TreeLstmComposition Composition => treelstm_layer;

    /// <summary>The query q [H] of the merge scores.</summary>
    public Parameter Query => comp_query;

    /// <summary>The reference's initialisation (see the class summary).</summary>
    public void ResetParameters()
    {
        using var _ = torch.no_grad();
        if (leaf_rnn_cell is not null)
        {
            nn.init.kaiming_normal_(leaf_rnn_cell.weight_ih!);
            nn.init.orthogonal_(leaf_rnn_cell.weight_hh!);
            nn.init.constant_(leaf_rnn_cell.bias_ih!, 0);
            nn.init.constant_(leaf_rnn_cell.bias_hh!, 0);
            leaf_rnn_cell.bias_ih!.narrow(0, _hidden, _hidden).fill_(1);      // forget gate (gates i, f, g, o)
        }
        else
        {
            nn.init.kaiming_normal_(word_linear!.weight!);
            nn.init.constant_(word_linear.bias!, 0);
        }
        treelstm_layer.ResetParameters();
        nn.init.normal_(comp_query, 0, 0.01);
    }

    /// <summary>The root of each sequence: embeddings [B, L, D], real tokens [B, L] (bool, a prefix, at least one per row).</summary>
    public GumbelTreeLstmOutput Forward(Tensor embedded, Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(embedded);
        ArgumentNullException.ThrowIfNull(mask);
        if (embedded.dim() != 3)
            throw new ArgumentException($"embedded must be [B, L, D] (got [{string.Join(", ", embedded.shape)}]).", nameof(embedded));
        long b = embedded.shape[0], l = embedded.shape[1];
        if (mask.dtype != ScalarType.Bool || !mask.shape.SequenceEqual(new[] { b, l }))
            throw new ArgumentException($"mask must be bool [{b}, {l}] (got {mask.dtype} [{string.Join(", ", mask.shape)}]).", nameof(mask));
        using var scope = torch.NewDisposeScope();
        var lengths = mask.sum(1);
        var lengthMask = torch.arange(l, device: mask.device).unsqueeze(0) < lengths.unsqueeze(1);
        if ((lengthMask != mask).any().item<bool>() || (lengths < 1).any().item<bool>())
            throw new ArgumentException("mask must mark a non-empty prefix of each row (padding trails).", nameof(mask));

        var (h, c) = Leaves(embedded);
        var selections = new List<Tensor>();
        double scale = Math.Sqrt(_hidden);
        for (long i = 0; i < l - 1; i++)
        {
            var left = h.narrow(1, 0, l - i - 1);
            var right = h.narrow(1, 1, l - i - 1);
            var (nh, nc) = treelstm_layer.Compose(left, c.narrow(1, 0, l - i - 1), right, c.narrow(1, 1, l - i - 1));
            if (i < l - 2)
            {
                var valid = lengthMask.narrow(1, i + 1, l - i - 1);                         // pair k is real iff token k + 1 is
                var scores = (nh * comp_query).sum(-1) / scale;
                scores = scores.masked_fill(valid.logical_not(), MaskedLogit)
                    .masked_fill(valid.any(1, keepdim: true).logical_not(), 0);             // finished rows: any choice, discarded
                var s = node.Sample(scores);
                (nh, nc) = Merge(h, c, nh, nc, s.Value);
                selections.Add(s.Hard.detach());
            }
            var done = lengthMask.narrow(1, i + 1, 1).unsqueeze(2).to(nh.dtype);          // [B, 1, 1]: still merging
            h = done * nh + (1 - done) * h.narrow(1, 0, l - i - 1);
            c = done * nc + (1 - done) * c.narrow(1, 0, l - i - 1);
        }
        var root = h.select(1, 0);
        var cell = c.select(1, 0);
        return new GumbelTreeLstmOutput(scope.MoveToOuter(root), scope.MoveToOuter(cell),
            selections.Select(t => scope.MoveToOuter(t)).ToList());
    }

    /// <summary>Logit given to pairs beyond a sequence's length (finite, so that every estimator accepts it).</summary>
    public const double MaskedLogit = -1e9;

    /// <summary>
    /// One merge: old states (h, c) [B, n, H], candidate parents (newH, newC) [B, n - 1, H] and a choice s [B, n - 1]
    /// (one-hot, or an estimator's value with its gradient) give the n - 1 states
    /// h'_k = s_k newH_k + (1 - cumsum(s)_k) h_k + (cumsum(s)_k - s_k) h_{k+1} (and c' alike).
    /// </summary>
    public static (Tensor H, Tensor C) Merge(Tensor h, Tensor c, Tensor newH, Tensor newC, Tensor select)
    {
        using var scope = torch.NewDisposeScope();
        long n = h.shape[1];
        var s = select.unsqueeze(2);
        var cumulative = select.cumsum(1);
        var left = (1 - cumulative).unsqueeze(2);
        var right = (cumulative - select).unsqueeze(2);
        var mh = s * newH + left * h.narrow(1, 0, n - 1) + right * h.narrow(1, 1, n - 1);
        var mc = s * newC + left * c.narrow(1, 0, n - 1) + right * c.narrow(1, 1, n - 1);
        return (scope.MoveToOuter(mh), scope.MoveToOuter(mc));
    }

    private (Tensor H, Tensor C) Leaves(Tensor x)
    {
        if (leaf_rnn_cell is null)
        {
            var hc = word_linear!.call(x).chunk(2, -1);
            return (hc[0], hc[1]);
        }
        long b = x.shape[0], l = x.shape[1];
        var h = torch.zeros(new[] { b, _hidden }, dtype: x.dtype, device: x.device);
        var c = h;
        var hs = new Tensor[l];
        var cs = new Tensor[l];
        for (long t = 0; t < l; t++)
        {
            (h, c) = leaf_rnn_cell.call(x.select(1, t), (h, c));
            hs[t] = h;
            cs[t] = c;
        }
        return (torch.stack(hs, 1), torch.stack(cs, 1));
    }
}
