using DiscreteGrad.Diagnostics;
using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.ListOps;
using DiscreteGrad.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Experiments.ListOps;

public class DccgListOpsModelTests
{
    private const int Pad = 14;

    /// <summary>Random token sequences of the given lengths (an operator first), padded with id 14 to the longest.</summary>
    private static Tensor Tokens(int[] lengths, int seed)
    {
        var rng = new Random(seed);
        int l = lengths.Max();
        var ids = new long[lengths.Length, l];
        for (int b = 0; b < lengths.Length; b++)
            for (int i = 0; i < l; i++)
                ids[b, i] = i >= lengths[b] ? Pad : i == 0 ? 1 + rng.Next(3) : rng.Next(14);
        return tensor(ids);
    }

    private static DccgListOpsModel Model(DccgListOpsOptions options, int seed = 3, bool float64 = true)
    {
        manual_seed(seed);
        var m = new DccgListOpsModel(options, new Generator((ulong)seed));
        if (float64) m.to(ScalarType.Float64);
        return m;
    }

    private static Tensor Close(Tensor expected, Tensor actual, double tol, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double diff = (expected - actual).abs().max().item<double>();
        Assert.True(diff <= tol, $"{what}: max |difference| {diff:R} > {tol}");
        return actual;
    }

    /// <summary>The authors' msg() (nec-research/dccg, models/listops.py) written out literally: concatenate, repeat, full MLP.</summary>
    private static Tensor NaiveMessages(DccgListOpsModel m, Tensor e, Tensor x, Tensor a)
    {
        long l = x.shape[1];
        var xEmb = e.unsqueeze(2).repeat(1, 1, l, 1);
        var xJ = x.unsqueeze(1).repeat(1, l, 1, 1);
        var msg = m.MessageLayer1.call(cat(new[] { xEmb, xJ }, -1)).relu();
        msg = m.MessageLayer2.call(msg).relu();
        return (a.transpose(1, 2).unsqueeze(-1) * msg).sum(2);
    }

    [Fact]
    public void Factored_messages_equal_the_reference_formula_in_float64()
    {
        var m = Model(new DccgListOpsOptions { Dim = 7, MessageDropout = 0 });
        var g = new Generator(1);
        var e = randn(new long[] { 3, 6, 7 }, dtype: ScalarType.Float64, generator: g);
        var x = randn(new long[] { 3, 6, 7 }, dtype: ScalarType.Float64, generator: g);
        var a = randn(new long[] { 3, 6, 6 }, dtype: ScalarType.Float64, generator: g).softmax(-1);
        Close(NaiveMessages(m, e, x, a), m.Messages(e, x, a, sparse: false), 1e-12, "dense");
    }

    [Fact]
    public void Sparse_messages_equal_dense_ones_for_one_hot_parents_with_silent_rows()
    {
        var m = Model(new DccgListOpsOptions { Dim = 5, MessageDropout = 0 });
        var g = new Generator(2);
        var e = randn(new long[] { 4, 9, 5 }, dtype: ScalarType.Float64, generator: g);
        var x = randn(new long[] { 4, 9, 5 }, dtype: ScalarType.Float64, generator: g);
        var parent = randint(0, 9, new long[] { 4, 9 }, generator: g);
        var silent = rand(new long[] { 4, 9, 1 }, dtype: ScalarType.Float64, generator: g) < 0.3;
        var a = nn.functional.one_hot(parent, 9).to(ScalarType.Float64).masked_fill(silent, 0);
        Close(NaiveMessages(m, e, x, a), m.Messages(e, x, a, sparse: true), 1e-12, "sparse");
    }

    /// <summary>
    /// With beta = 0 the Gumbel-softmax is softmax(theta / tau): the whole pass is deterministic and equals the reference's
    /// forward (GNN.forward / Net.forward) written out with the model's weights, with the residual always (alpha = 0) and never (alpha = 1).
    /// </summary>
    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void Deterministic_pass_equals_the_reference_forward(double alpha)
    {
        const double tau = 0.7;
        var m = Model(new DccgListOpsOptions { Dim = 6, MessageDropout = 0, Tau = tau, Beta = 0 });
        m.Alpha = alpha;
        var tokens = Tokens(new[] { 8, 8, 8 }, 5);
        var o = m.Forward(tokens);

        var real = tokens != Pad;
        var a = (m.ParentLogits(tokens, real) / tau).softmax(-1);
        var e = m.DecoderEmbedding.call(tokens);
        Tensor Readout(Tensor t) => m.ReadoutLayer2.call(m.ReadoutLayer1.call(t).relu());
        var x = e;
        for (int r = 0; r < 5; r++)
        {
            x = x + NaiveMessages(m, e, x, a);
            if (r < 4)
            {
                var xd = (Readout(x) / tau).softmax(-1).matmul(m.DigitEmbeddings);
                x = alpha < 1 ? x + xd : xd;
            }
        }
        Close(Readout(x.select(1, 0)), o.Logits, 1e-10, "answer logits");
        Close(Readout(x), o.TokenLogits, 1e-10, "token logits");
        Close(a, o.Parents, 1e-12, "parents");
        Assert.Equal(new long[] { 3, 4, 8 }, o.RoundDigits!.shape);
    }

    [Fact]
    public void Padding_is_never_a_parent_and_sends_nothing()
    {
        var m = Model(new DccgListOpsOptions { Dim = 6, Estimator = EstimatorKind.StraightThroughGumbel }, float64: false);
        var tokens = Tokens(new[] { 9, 4, 6, 1 }, 7);
        var real = tokens != Pad;
        for (int draw = 0; draw < 20; draw++)
        {
            var parents = m.Forward(tokens).Parents;
            // No weight on padding columns, none on padding rows; each real row one-hot (STGS forward).
            Assert.Equal(0, parents.masked_select(real.logical_not().unsqueeze(1).expand_as(parents)).abs().sum().item<float>());
            Assert.Equal(0, parents.masked_select(real.logical_not().unsqueeze(2).expand_as(parents)).abs().sum().item<float>());
            Assert.True((parents.sum(-1) == real.to(ScalarType.Float32)).all().item<bool>());
        }
    }

    [Fact]
    public void Padded_expressions_give_the_same_results_as_alone()
    {
        int[] lengths = { 11, 3, 7, 1, 9 };
        var tokens = Tokens(lengths, 9);
        foreach (var options in new[]
                 {
                     new DccgListOpsOptions { Dim = 6, Evaluation = EvalSampling.Argmax },
                     new DccgListOpsOptions { Dim = 6, Evaluation = EvalSampling.Argmax, SparseHardMessages = false },
                     new DccgListOpsOptions { Dim = 6, Variant = DccgListOpsVariant.Continuous },
                 })
        {
            var m = Model(options);
            m.eval();
            var batch = m.Forward(tokens);
            for (int b = 0; b < lengths.Length; b++)
            {
                var alone = m.Forward(tokens.narrow(0, b, 1).narrow(1, 0, lengths[b]));
                Close(alone.Logits, batch.Logits.narrow(0, b, 1), 1e-10, $"{options.Variant} sparse {options.SparseHardMessages} logits {b}");
                Close(alone.TokenLogits, batch.TokenLogits.narrow(0, b, 1).narrow(1, 0, lengths[b]), 1e-10, $"token logits {b}");
                Close(alone.Parents, batch.Parents.narrow(0, b, 1).narrow(1, 0, lengths[b]).narrow(2, 0, lengths[b]), 1e-12, $"parents {b}");
            }
        }
    }

    [Fact]
    public void Explicit_mask_equals_the_mask_from_the_padding_id()
    {
        var m = Model(new DccgListOpsOptions { Dim = 5, Variant = DccgListOpsVariant.Continuous, MessageDropout = 0 });
        var tokens = Tokens(new[] { 6, 2, 4 }, 4);
        Close(m.Forward(tokens).Logits, m.Forward(tokens, tokens != Pad).Logits, 0, "logits");
        Assert.Throws<ArgumentException>(() => m.Forward(tokens.to(ScalarType.Int32)));
        Assert.Throws<ArgumentException>(() => m.Forward(tokens, (tokens != Pad).to(ScalarType.Int64)));
    }

    [Theory]
    [InlineData(DccgRootEdge.Uniform, 1.0)]
    [InlineData(DccgRootEdge.None, 0.0)]
    public void Root_row_follows_the_root_edge_setting(DccgRootEdge rootEdge, double rootRowSum)
    {
        var m = Model(new DccgListOpsOptions { Dim = 5, RootEdge = rootEdge });
        var tokens = Tokens(new[] { 7, 5 }, 2);
        var o = m.Forward(tokens);
        Close(full(new long[] { 2 }, rootRowSum, dtype: ScalarType.Float64), o.Parents.select(1, 0).sum(-1), 1e-12, "root row");
        // The reference's A[:, 0, :] = 0: the root's logits are 0 at every real position.
        Assert.Equal(0, o.ParentLogits[0, 0].abs().sum().item<double>());
        Assert.Equal(0, o.ParentLogits[1, 0].narrow(0, 0, 5).abs().sum().item<double>());
        Assert.Equal(DccgListOpsModel.MaskedLogit, o.ParentLogits[1, 0, 6].item<double>());
    }

    [Fact]
    public void Evaluation_uses_hard_parents_and_digits_without_residual()
    {
        var m = Model(new DccgListOpsOptions { Dim = 6, Evaluation = EvalSampling.Argmax });
        var tokens = Tokens(new[] { 10, 10 }, 3);
        m.eval();
        m.Alpha = 0;                                  // residual always in training; ignored in evaluation
        var a = m.Forward(tokens);
        m.Alpha = 1;
        var b = m.Forward(tokens);
        Close(a.Logits, b.Logits, 0, "alpha ignored in evaluation");
        var p = a.Parents;
        Assert.True(((p == 0).logical_or(p == 1)).all().item<bool>(), "parents one-hot");
        Assert.True((p.sum(-1) == 1).all().item<bool>());
        Assert.Equal(new long[] { 2, 4, 10 }, a.RoundDigits!.shape);
        Assert.True((a.RoundDigits >= 0).logical_and(a.RoundDigits < 10).all().item<bool>());
    }

    [Fact]
    public void Hooks_set_both_nodes_and_the_number_of_rounds()
    {
        var m = Model(new DccgListOpsOptions { Dim = 4 });
        m.Tau = 2.5;
        m.Beta = 0.25;
        m.Alpha = 0.4;
        Assert.Equal((2.5, 0.25), (m.EdgeNode.Tau, m.EdgeNode.Beta));
        Assert.Equal((2.5, 0.25), (m.Digit.Node.Tau, m.Digit.Node.Beta));
        Assert.Equal(0.4, m.Digit.Alpha);
        Assert.Equal(DropResMode.PerBatch, m.Digit.DropRes);
        var g = new Generator(9);
        m.Generator = g;
        Assert.Same(g, m.EdgeNode.Generator);
        Assert.Same(g, m.Digit.Node.Generator);
        Assert.Same(g, m.Digit.Generator);
        m.Rounds = 8;
        m.eval();
        Assert.Equal(new long[] { 1, 7, 6 }, m.Forward(Tokens(new[] { 6 }, 1)).RoundDigits!.shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Rounds = 0);
        Assert.Equal(DropResMode.None, Model(new DccgListOpsOptions { Dim = 4, DropRes = false }).Digit.DropRes);
    }

    [Fact]
    public void Continuous_baseline_is_deterministic_and_has_no_digit_component()
    {
        var m = Model(new DccgListOpsOptions { Dim = 5, Variant = DccgListOpsVariant.Continuous, MessageDropout = 0 });
        var tokens = Tokens(new[] { 8, 5 }, 6);
        var train = m.Forward(tokens);
        m.eval();
        var test = m.Forward(tokens);
        Assert.Null(train.RoundDigits);
        Close(train.Logits, test.Logits, 0, "train = eval");
        // Softmax attention over the real positions: each real row sums to 1, with no weight on padding.
        Close(tensor(new double[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0 }).reshape(2, 8), test.Parents.sum(-1), 1e-12, "rows");
    }

    [Fact]
    public void Gradient_reaches_every_parameter_and_the_tracker_records_each_round()
    {
        var m = Model(new DccgListOpsOptions { Dim = 6, Beta = 1, Tau = 1 });
        m.Alpha = 0.5;
        using var tracker = new GradientTracker();
        m.Tracker = tracker;
        var tokens = Tokens(new[] { 12, 9, 12 }, 8);
        var o = m.Forward(tokens);
        nn.functional.cross_entropy(o.Logits, tensor(new long[] { 3, 7, 1 })).backward();
        foreach (var (name, p) in m.named_parameters())
        {
            Assert.NotNull(p.grad);
            TorchAssert.AllFinite(p.grad!, name);
            Assert.True(p.grad!.abs().sum().item<double>() > 0, $"{name} got no gradient");
        }
        Assert.Equal(Enumerable.Range(0, 6).Select(r => $"round{r}"), tracker.Names);
        Assert.All(tracker.Statistics(), s => Assert.True(s.HasGradient && s.MeanAbsolute > 0 && double.IsFinite(s.L2Norm), s.Name));
    }

    [Fact]
    public void Invalid_options_throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new DccgListOpsOptions { PaddingId = 5 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new DccgListOpsOptions { VocabularySize = 13 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new DccgListOpsOptions { MessageDropout = 1 }.Validate());
        Assert.Equal(15, new DccgListOpsOptions().EmbeddingRows);
        Assert.Equal(16, new DccgListOpsOptions { VocabularySize = 15, PaddingId = 15, FirstDigitId = 5 }.EmbeddingRows);
    }
}
