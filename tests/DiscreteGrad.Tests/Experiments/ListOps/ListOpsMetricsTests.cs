using DiscreteGrad.Experiments.ListOps;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Experiments.ListOps;

public class ListOpsMetricsTests
{
    [Fact]
    public void Accuracy_counts_argmax_hits()
    {
        var logits = tensor(new float[,] { { 0, 2, 1 }, { 3, 0, 0 }, { 0, 0, 5 } });
        Assert.Equal(new Tally(2, 3), ListOpsMetrics.Accuracy(logits, tensor(new long[] { 1, 0, 0 })));
        Assert.Equal(new Tally(5, 9), new Tally(2, 3) + new Tally(3, 6));
        Assert.Equal(0.5, new Tally(1, 2).Rate);
        Assert.True(double.IsNaN(new Tally(0, 0).Rate));
    }

    [Fact]
    public void Parent_recall_leaves_out_the_root_padding_and_closing_brackets()
    {
        // "[MAX 3 [MIN 1 2 ] ]" = ids 2 7 1 5 6 0 0, then padding 14. True parents (by position): 3 -> 0, [MIN -> 0,
        // 1 -> 2, 2 -> 2, the first ] -> 2, the second ] -> 0.
        var tokens = tensor(new long[,] { { 2, 7, 1, 5, 6, 0, 0, 14 } });
        var mask = tokens != 14;
        var truth = tensor(new long[,] { { -1, 0, 0, 2, 2, 2, 0, 0 } });
        // Predicted parents: the root points at 5 (not counted), 3 -> 0 right, [MIN -> 1 wrong, 1 -> 2 right, 2 -> 0 wrong,
        // both brackets wrong (counted only with closingBracketId: null), the padding row points anywhere (never counted).
        long[] predicted = { 5, 0, 1, 2, 0, 1, 1, 4 };
        var parents = nn.functional.one_hot(tensor(predicted).unsqueeze(0), 8).to(ScalarType.Float32);
        Assert.Equal(new Tally(2, 4), ListOpsMetrics.ParentRecall(parents, truth, tokens, mask));
        Assert.Equal(new Tally(2, 6), ListOpsMetrics.ParentRecall(parents, truth, tokens, mask, closingBracketId: null));
        // Soft parents: the argmax counts.
        var soft = parents * 0.6 + 0.4 / 8;
        Assert.Equal(new Tally(2, 4), ListOpsMetrics.ParentRecall(soft, truth, tokens, mask));
    }

    [Fact]
    public void Intermediate_accuracy_reads_the_argmax_at_operators_other_than_the_root()
    {
        // Operators at 0 (root, left out), 2 and 5; values 9, 4, 7.
        var values = tensor(new long[,] { { 9, 0, 4, 0, 0, 7 } });
        var operators = tensor(new[,] { { true, false, true, false, false, true } });
        var argmax = tensor(new long[,] { { 1, 3, 4, 3, 3, 2 } });
        var logits = nn.functional.one_hot(argmax, 10).to(ScalarType.Float32);
        Assert.Equal(new Tally(1, 2), ListOpsMetrics.IntermediateAccuracy(logits, values, operators));
    }
}
