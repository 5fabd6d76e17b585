using DiscreteGrad.Experiments.ListOps;

namespace DiscreteGrad.Tests.Experiments.ListOps;

public sealed class ListOpsGeneratorTests
{
    [Fact]
    public void Same_seed_gives_the_same_trees_and_seeds_differ()
    {
        var options = new ListOpsGeneratorOptions();
        var a = new ListOpsGenerator(options, 11);
        var b = new ListOpsGenerator(options, 11);
        var c = new ListOpsGenerator(options, 12);
        var fromA = Enumerable.Range(0, 2_000).Select(_ => a.Next().Expression).ToList();
        var fromB = Enumerable.Range(0, 2_000).Select(_ => b.Next().Expression).ToList();
        var fromC = Enumerable.Range(0, 2_000).Select(_ => c.Next().Expression).ToList();
        Assert.Equal(fromA, fromB);
        Assert.NotEqual(fromA, fromC);
    }

    [Fact]
    public void Stream_is_pinned_across_machines()
    {
        // SplitMix64 is integer arithmetic only; these values pin the stream so that a change to it is noticed.
        var random = new ListOpsRandom(0);
        Assert.Equal(0xE220A8397B1DCDAFUL, random.NextBits());
        Assert.Equal(0x6E789E6AA1B965F4UL, random.NextBits());
        var generator = new ListOpsGenerator(new ListOpsGeneratorOptions(), 3);
        var first = Enumerable.Range(0, 200).Select(_ => generator.Next()).First(e => e.Depth >= 2);
        Assert.Equal(
            "[MAX 6 4 [MIN [MAX [MED 1 [MED [MIN 7 4 1 ] 3 1 6 ] [MED 7 2 [MAX 5 1 3 2 6 ] 7 0 ] 2 ] 5 8 ] 5 7 [MIN 4 7 0 ] 1 ] 0 ]",
            first.Expression);
    }

    [Fact]
    public void Unconditioned_process_has_the_reference_probabilities()
    {
        // Nangia and Bowman: a node is a digit with probability 0.75, an operator has 2-5 arguments uniformly, the
        // operator and the digits are uniform. Over n draws each frequency lies within 5 standard errors.
        const int n = 100_000;
        var generator = new ListOpsGenerator(new ListOpsGeneratorOptions(), 21);
        int leaves = 0, operatorRoots = 0;
        var arity = new int[6];
        var ops = new int[ListOpsVocabulary.Size];
        var digits = new int[10];
        int maxDepth = 0;
        for (int i = 0; i < n; i++)
        {
            var e = generator.Next();
            maxDepth = Math.Max(maxDepth, e.Depth);
            if (e.Depth == 0)
            {
                leaves++;
                digits[e.Target]++;
                continue;
            }
            operatorRoots++;
            arity[e.ArgumentCount(0)]++;
            ops[e.Tokens[0]]++;
        }
        AssertFrequency(leaves, n, 0.75);
        for (int k = 2; k <= 5; k++) AssertFrequency(arity[k], operatorRoots, 0.25);
        foreach (int id in new[] { ListOpsVocabulary.Min, ListOpsVocabulary.Max, ListOpsVocabulary.Med, ListOpsVocabulary.SumMod })
            AssertFrequency(ops[id], operatorRoots, 0.25);
        for (int d = 0; d < 10; d++) AssertFrequency(digits[d], leaves, 0.1);
        Assert.InRange(maxDepth, 5, 19);
    }

    [Fact]
    public void Forced_leaf_level_bounds_the_depth()
    {
        var generator = new ListOpsGenerator(new ListOpsGeneratorOptions { ForcedLeafLevel = 3, LeafProbability = 0.3 }, 4);
        var depths = Enumerable.Range(0, 5_000).Select(_ => generator.Next().Depth).ToList();
        Assert.Equal(2, depths.Max());
        Assert.Contains(1, depths);
    }

    [Fact]
    public void Bounded_draws_respect_their_bounds()
    {
        var generator = new ListOpsGenerator(new ListOpsGeneratorOptions(), 8);
        int kept = 0;
        for (int i = 0; i < 20_000; i++)
        {
            var e = generator.TryNext(20, 3);
            if (e is null) continue;
            kept++;
            Assert.InRange(e.Length, 1, 20);
            Assert.InRange(e.Depth, 0, 3);
        }
        Assert.InRange(kept, 10_000, 20_000);
    }

    [Fact]
    public void Stopping_draws_that_cannot_reach_the_depth_leaves_the_distribution_unchanged()
    {
        // Depth-8 trees of at most 50 tokens, by plain rejection and with the early stop of hopeless draws: the two
        // mean lengths and argument shares agree within sampling error (each about 0.12 tokens standard error).
        var options = new ListOpsGeneratorOptions { Operators = new[] { ListOpsOperator.Min, ListOpsOperator.Max, ListOpsOperator.Med }, ForcedLeafLevel = 9 };
        var plain = Sample(new ListOpsGenerator(options, 1), 0);
        var pruned = Sample(new ListOpsGenerator(options, 2), 8);
        Assert.InRange(plain.Average(e => e.Length) - pruned.Average(e => e.Length), -0.7, 0.7);
        Assert.InRange(plain.Count(e => e.ArgumentCount(0) == 2) - pruned.Count(e => e.ArgumentCount(0) == 2), -150, 150);

        static List<ListOpsExample> Sample(ListOpsGenerator g, int requiredDepth)
        {
            var list = new List<ListOpsExample>();
            while (list.Count < 2_000)
                if (g.TryDraw(50, 8, requiredDepth, out _, out int depth) && depth == 8) list.Add(g.Current());
            return list;
        }
    }

    [Fact]
    public void Invalid_options_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new ListOpsGenerator(new ListOpsGeneratorOptions { Operators = Array.Empty<ListOpsOperator>() }, 0));
        Assert.Throws<ArgumentException>(() => new ListOpsGenerator(new ListOpsGeneratorOptions { LeafProbability = 1.5 }, 0));
        Assert.Throws<ArgumentException>(() => new ListOpsGenerator(new ListOpsGeneratorOptions { MinArguments = 4, MaxArguments = 3 }, 0));
        Assert.Throws<ArgumentException>(() => new ListOpsGenerator(new ListOpsGeneratorOptions { ForcedLeafLevel = 0 }, 0));
    }

    private static void AssertFrequency(int count, int total, double p)
    {
        double se = Math.Sqrt(p * (1 - p) / total);
        Assert.InRange(count / (double)total, p - 5 * se, p + 5 * se);
    }
}
