using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.ListOps;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Experiments.ListOps;

public class GumbelTreeLstmTests
{
    private const int Pad = 15;

    private static Tensor Tokens(int[] lengths, int seed)
    {
        var rng = new Random(seed);
        int l = lengths.Max();
        var ids = new long[lengths.Length, l];
        for (int b = 0; b < lengths.Length; b++)
            for (int i = 0; i < l; i++)
                ids[b, i] = i >= lengths[b] ? Pad : rng.Next(15);
        return tensor(ids);
    }

    private static GumbelTreeLstmClassifier Model(EstimatorKind kind = EstimatorKind.ReinMax, bool leafRnn = true, int seed = 4)
    {
        manual_seed(seed);
        var m = new GumbelTreeLstmClassifier(new GumbelTreeLstmOptions
        {
            WordDim = 6, HiddenDim = 5, ClassifierHiddenDim = 7, Dropout = 0, Estimator = kind, LeafRnn = leafRnn, GumbelRaoK = 10,
        }, new Generator((ulong)seed));
        m.to(ScalarType.Float64);
        return m;
    }

    private static void Close(Tensor expected, Tensor actual, double tol, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double diff = (expected - actual).abs().max().item<double>();
        Assert.True(diff <= tol, $"{what}: max |difference| {diff:R} > {tol}");
    }

    [Fact]
    public void Shapes_of_logits_root_and_merge_choices()
    {
        var m = Model();
        var o = m.Forward(Tokens(new[] { 9, 5, 2, 1 }, 1));
        Assert.Equal(new long[] { 4, 10 }, o.Logits.shape);
        Assert.Equal(new long[] { 4, 5 }, o.Tree.Root.shape);
        Assert.Equal(new long[] { 4, 5 }, o.Tree.Cell.shape);
        Assert.Equal(7, o.Tree.Selections.Count);                          // steps 0..L-3; the last has one pair
        for (int i = 0; i < 7; i++) Assert.Equal(new long[] { 4, 8 - i }, o.Tree.Selections[i].shape);
    }

    [Theory]
    [InlineData(EstimatorKind.StraightThroughGumbel)]
    [InlineData(EstimatorKind.GumbelRao)]
    [InlineData(EstimatorKind.GappedStraightThrough)]
    [InlineData(EstimatorKind.StraightThrough)]
    [InlineData(EstimatorKind.ReinMax)]
    public void Training_choices_are_one_hot_and_never_merge_padding(EstimatorKind kind)
    {
        var m = Model(kind);
        int[] lengths = { 10, 6, 3, 2, 8 };
        var tokens = Tokens(lengths, 2);
        for (int draw = 0; draw < 10; draw++)
        {
            var o = m.Forward(tokens);
            var loss = nn.functional.cross_entropy(o.Logits, tensor(new long[] { 1, 2, 3, 4, 5 }));
            loss.backward();
            TorchAssert.AllFinite(m.Encoder.Query.grad!, "query gradient");
            Assert.True(m.Encoder.Query.grad!.abs().sum().item<double>() > 0, "no gradient reached the merge scores");
            m.zero_grad();
            for (int i = 0; i < o.Tree.Selections.Count; i++)
            {
                var s = o.Tree.Selections[i];
                Assert.True((s.sum(-1) == 1).all().item<bool>(), "one-hot");
                var chosen = s.argmax(-1).data<long>().ToArray();
                for (int b = 0; b < lengths.Length; b++)
                {
                    int realPairs = lengths[b] - i - 1;                      // pairs of real nodes left at step i
                    if (realPairs >= 1)
                        Assert.True(chosen[b] < realPairs, $"{kind} step {i} row {b}: chose pair {chosen[b]} of {realPairs}");
                }
            }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Variable_lengths_give_the_root_of_each_sequence_alone(bool leafRnn)
    {
        var m = Model(leafRnn: leafRnn);
        m.eval();
        int[] lengths = { 12, 5, 1, 2, 9, 3 };
        var tokens = Tokens(lengths, 3);
        var batch = m.Forward(tokens);
        for (int b = 0; b < lengths.Length; b++)
        {
            var alone = m.Forward(tokens.narrow(0, b, 1).narrow(1, 0, lengths[b]));
            Close(alone.Tree.Root, batch.Tree.Root.narrow(0, b, 1), 1e-12, $"root {b}");
            Close(alone.Logits, batch.Logits.narrow(0, b, 1), 1e-12, $"logits {b}");
            for (int i = 0; i < alone.Tree.Selections.Count; i++)
                Close(alone.Tree.Selections[i], batch.Tree.Selections[i].narrow(0, b, 1).narrow(1, 0, lengths[b] - 1 - i), 0, $"choice {b}/{i}");
        }
    }

    [Fact]
    public void A_hard_choice_merges_exactly_the_chosen_pair()
    {
        var comp = new TreeLstmComposition(4);
        comp.to(ScalarType.Float64);
        var g = new Generator(5);
        var h = randn(new long[] { 3, 6, 4 }, dtype: ScalarType.Float64, generator: g);
        var c = randn(new long[] { 3, 6, 4 }, dtype: ScalarType.Float64, generator: g);
        var (nh, nc) = comp.Compose(h.narrow(1, 0, 5), c.narrow(1, 0, 5), h.narrow(1, 1, 5), c.narrow(1, 1, 5));
        long[] k = { 0, 2, 4 };
        var select = nn.functional.one_hot(tensor(k), 5).to(ScalarType.Float64);
        var (mh, mc) = GumbelTreeLstm.Merge(h, c, nh, nc, select);
        for (int b = 0; b < 3; b++)
        {
            // Explicitly: the states before the pair, the composition of the pair, the states after it (bit for bit).
            var eh = cat(new[] { h[b].narrow(0, 0, k[b]), nh[b, k[b]].unsqueeze(0), h[b].narrow(0, k[b] + 2, 4 - k[b]) }, 0);
            var ec = cat(new[] { c[b].narrow(0, 0, k[b]), nc[b, k[b]].unsqueeze(0), c[b].narrow(0, k[b] + 2, 4 - k[b]) }, 0);
            Close(eh, mh[b], 0, $"h row {b}");
            Close(ec, mc[b], 0, $"c row {b}");
            // That composition is the pair's own (up to the rounding of a batched against a single matrix product).
            var (ph, pc) = comp.Compose(h[b, k[b]], c[b, k[b]], h[b, k[b] + 1], c[b, k[b] + 1]);
            Close(ph, nh[b, k[b]], 1e-15, $"pair h {b}");
            Close(pc, nc[b, k[b]], 1e-15, $"pair c {b}");
        }
    }

    [Fact]
    public void Composition_is_the_binary_tree_lstm_cell()
    {
        var comp = new TreeLstmComposition(3);
        comp.to(ScalarType.Float64);
        var p = comp.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        var (w, bias) = (p["comp_linear.weight"], p["comp_linear.bias"]);
        // Orthogonal initialisation of the [5H, 2H] weight: orthonormal columns; zero bias.
        Close(eye(6, dtype: ScalarType.Float64), w.t().matmul(w), 1e-6, "W^T W (float32 initialisation)");
        Assert.Equal(0, bias.abs().sum().item<double>());
        using (no_grad()) bias.copy_(randn(15, dtype: ScalarType.Float64, generator: new Generator(1)));
        var g = new Generator(6);
        var (hl, cl, hr, cr) = (randn(2, 3, dtype: ScalarType.Float64, generator: g), randn(2, 3, dtype: ScalarType.Float64, generator: g),
            randn(2, 3, dtype: ScalarType.Float64, generator: g), randn(2, 3, dtype: ScalarType.Float64, generator: g));
        var (h, c) = comp.Compose(hl, cl, hr, cr);
        var z = cat(new[] { hl, hr }, 1).matmul(w.t()) + bias;
        Tensor Part(int j) => z.narrow(1, 3 * j, 3);
        var cHand = cl * (Part(1) + 1).sigmoid() + cr * (Part(2) + 1).sigmoid() + Part(3).tanh() * Part(0).sigmoid();
        Close(cHand, c, 1e-14, "c");
        Close(Part(4).sigmoid() * cHand.tanh(), h, 1e-14, "h");
    }

    [Fact]
    public void Initialisation_follows_the_reference()
    {
        var m = Model();
        var p = m.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        var bias = p["encoder.leaf_rnn_cell.bias_ih"];
        Close(cat(new[] { zeros(5), ones(5), zeros(10) }).to(ScalarType.Float64), bias, 0, "leaf bias_ih (forget gate 1)");
        Assert.Equal(0, p["encoder.leaf_rnn_cell.bias_hh"].abs().sum().item<double>());
        var whh = p["encoder.leaf_rnn_cell.weight_hh"];                   // [4H, H], orthogonal columns
        Close(eye(5, dtype: ScalarType.Float64), whh.t().matmul(whh), 1e-6, "weight_hh (float32 initialisation)");
        Assert.InRange(p["clf_linear.weight"].abs().max().item<double>(), 0, 0.002);
        Assert.Equal(0, p["clf_linear.bias"].abs().sum().item<double>());
        Assert.InRange(p["word_embedding.weight"].std().item<double>(), 0.005, 0.02);
    }

    [Fact]
    public void Padding_must_trail()
    {
        var m = Model();
        var tokens = Tokens(new[] { 4, 4 }, 1);
        var mask = tensor(new[,] { { true, false, true, true }, { true, true, true, true } });
        Assert.Throws<ArgumentException>(() => m.Forward(tokens, mask));
        Assert.Throws<ArgumentException>(() => m.Forward(tokens, zeros(2, 4).to(ScalarType.Bool)));
    }
}
