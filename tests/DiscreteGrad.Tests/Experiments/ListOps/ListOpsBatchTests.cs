using DiscreteGrad.Experiments.ListOps;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Experiments.ListOps;

public sealed class ListOpsBatchTests
{
    [Fact]
    public void Batch_pads_on_the_right_and_carries_every_annotation()
    {
        var a = ListOpsExample.Parse("[MED 3 6 0 6 ]");
        var b = ListOpsExample.Parse("[MAX 9 3 0 [MED 7 9 5 ] ]");
        using var batch = ListOpsBatch.Create(new[] { a, b });
        Assert.Equal(new long[] { 2, 10 }, batch.Tokens.shape);
        Assert.Equal(ScalarType.Int64, batch.Tokens.dtype);
        Assert.Equal(ScalarType.Bool, batch.Mask.dtype);
        Assert.Equal(new long[] { 3, 7, 10, 4, 10, 0, 15, 15, 15, 15 }, batch.Tokens[0].data<long>().ToArray());
        Assert.Equal(b.Tokens.Select(t => (long)t), batch.Tokens[1].data<long>().ToArray());
        Assert.Equal(new long[] { 6, 10 }, batch.Mask.sum(1).data<long>().ToArray());
        Assert.Equal(new long[] { -1, 0, 0, 0, 0, 0, -1, -1, -1, -1 }, batch.Parents[0].data<long>().ToArray());
        Assert.Equal(new long[] { -1, 0, 0, 0, 0, 4, 4, 4, 4, 0 }, batch.Parents[1].data<long>().ToArray());
        Assert.Equal(new long[] { 4, 3, 6, 0, 6, -1, -1, -1, -1, -1 }, batch.Values[0].data<long>().ToArray());
        Assert.Equal(new long[] { 9, 9, 3, 0, 7, 7, 9, 5, -1, -1 }, batch.Values[1].data<long>().ToArray());
        Assert.Equal(new[] { true, false, false, false, true, false, false, false, false, false }, batch.OperatorMask[1].data<bool>().ToArray());
        Assert.Equal(new long[] { 4, 9 }, batch.Targets.data<long>().ToArray());
        Assert.Equal(new long[] { 6, 10 }, batch.Lengths.data<long>().ToArray());
        Assert.Equal(2, batch.Count);
    }

    [Fact]
    public void Batch_takes_a_pad_id_and_a_fixed_width()
    {
        var a = ListOpsExample.Parse("[MIN 1 2 ]");
        using var batch = ListOpsBatch.Create(new[] { a }, padId: ListOpsVocabulary.Close, padTo: 6);
        Assert.Equal(new long[] { 1, 5, 6, 0, 0, 0 }, batch.Tokens[0].data<long>().ToArray());
        Assert.Equal(new[] { true, true, true, true, false, false }, batch.Mask[0].data<bool>().ToArray());
        Assert.Throws<ArgumentException>(() => ListOpsBatch.Create(new[] { a }, padTo: 3));
        Assert.Throws<ArgumentException>(() => ListOpsBatch.Create(Array.Empty<ListOpsExample>()));
    }
}
