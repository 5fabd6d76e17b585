using DiscreteGrad.Experiments.ListOps;

namespace DiscreteGrad.Tests.Experiments.ListOps;

public sealed class ListOpsRecipeTests
{
    private static readonly DccgListOpsRecipe Small = new()
    {
        TrainPerDepth = 300,
        DevPerDepth = 60,
        TestPerDepth = 40,
        ExtrapolationCount = 30,
    };

    [Fact]
    public void Dccg_splits_are_balanced_over_depth_with_exact_counts()
    {
        var data = Small.Generate(3);
        AssertCounts(data.Train, 300);
        AssertCounts(data.Dev, 60);
        AssertCounts(data.Test, 40);
        Assert.Equal(new[] { 8, 10 }, data.Extrapolation.Keys);
        foreach (var (depth, set) in data.Extrapolation)
        {
            Assert.Equal(30, set.Count);
            Assert.All(set, e => Assert.Equal(depth, e.Depth));
        }

        static void AssertCounts(IReadOnlyList<ListOpsExample> split, int perDepth)
        {
            Assert.Equal(5 * perDepth, split.Count);
            Assert.Equal(Enumerable.Repeat(perDepth, 5), Enumerable.Range(1, 5).Select(d => split.Count(e => e.Depth == d)));
        }
    }

    [Fact]
    public void Dccg_examples_respect_lengths_arities_and_the_operator_set()
    {
        var data = Small.Generate(4);
        var all = data.All.ToList();
        var used = new HashSet<int>();
        foreach (var e in all)
        {
            if (e.Depth == 1) Assert.InRange(e.Length, 4, 7);
            else Assert.InRange(e.Length, 10, 50);
            for (int i = 0; i < e.Length; i++)
            {
                if (!e.IsOperatorToken(i)) continue;
                used.Add(e.Tokens[i]);
                Assert.InRange(e.ArgumentCount(i), 2, 5);
            }
            Assert.DoesNotContain(ListOpsVocabulary.SumMod, e.Tokens);
            Assert.All(e.Tokens, id => Assert.InRange(id, 0, ListOpsVocabulary.DccgSize - 1));
            Assert.Equal(ListOpsEvaluator.Evaluate(e.Expression), e.Target);
        }
        Assert.Equal(new[] { ListOpsVocabulary.Min, ListOpsVocabulary.Max, ListOpsVocabulary.Med }, used.Order());
        // Every arity occurs at the root.
        Assert.Equal(new[] { 2, 3, 4, 5 }, all.Select(e => e.ArgumentCount(0)).Distinct().Order());
    }

    [Fact]
    public void Dccg_expressions_are_unique_within_and_across_splits()
    {
        var all = Small.Generate(5).All.Select(e => e.Expression).ToList();
        Assert.Equal(all.Count, all.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Dccg_generation_is_deterministic_per_seed_and_seeds_differ()
    {
        var a = Small.Generate(6);
        var b = Small.Generate(6);
        var c = Small.Generate(7);
        Assert.Equal(a.All.Select(e => e.Expression), b.All.Select(e => e.Expression));
        Assert.NotEqual(a.Train.Select(e => e.Expression), c.Train.Select(e => e.Expression));
        Assert.True(a.Test.Select(e => e.Expression).Intersect(c.Test.Select(e => e.Expression)).Count() < a.Test.Count / 2);
    }

    [Fact]
    public void Default_dccg_recipe_is_the_published_layout()
    {
        var r = new DccgListOpsRecipe();
        Assert.Equal((1, 5), (r.MinDepth, r.MaxDepth));
        Assert.Equal((18_000, 2_000, 2_000), (r.TrainPerDepth, r.DevPerDepth, r.TestPerDepth));
        Assert.Equal((4, 10, 50), (r.MinLength, r.MinNestedLength, r.MaxLength));
        Assert.Equal(new[] { 8, 10 }, r.ExtrapolationDepths);
        Assert.Equal(10_000, r.ExtrapolationCount);
        Assert.Equal((2, 5, 0.75), (r.MinArguments, r.MaxArguments, r.LeafProbability));
        Assert.Equal(6, r.GeneratorOptions(r.MaxDepth).ForcedLeafLevel);
    }

    [Fact]
    public void Default_dccg_recipe_generates_90k_balanced_training_examples()
    {
        var data = (new DccgListOpsRecipe() with { ExtrapolationDepths = Array.Empty<int>() }).Generate(1);
        Assert.Equal(90_000, data.Train.Count);
        Assert.Equal(10_000, data.Dev.Count);
        Assert.Equal(10_000, data.Test.Count);
        Assert.Equal(Enumerable.Repeat(18_000, 5), Enumerable.Range(1, 5).Select(d => data.Train.Count(e => e.Depth == d)));
        Assert.Equal(Enumerable.Repeat(2_000, 5), Enumerable.Range(1, 5).Select(d => data.Test.Count(e => e.Depth == d)));
        Assert.Equal(110_000, data.All.Select(e => e.Expression).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Dccg_lengths_per_depth_match_the_published_dev_and_test_files()
    {
        // Mean token counts per depth 1-5 of the 20,000 examples of the DCCG authors' dev and test files (measured once
        // when the recipe was reconstructed). 4,000 examples per depth give standard errors of at most 0.13 tokens.
        double[] published = { 6.26, 11.83, 16.99, 24.83, 34.84 };
        var data = (new DccgListOpsRecipe() with { TrainPerDepth = 18_000, DevPerDepth = 2_000, TestPerDepth = 2_000, ExtrapolationDepths = Array.Empty<int>() }).Generate(2);
        var heldOut = data.Dev.Concat(data.Test).ToList();
        for (int d = 1; d <= 5; d++)
            Assert.InRange(heldOut.Where(e => e.Depth == d).Average(e => e.Length), published[d - 1] - 0.6, published[d - 1] + 0.6);
        // Forcing leaves right below each depth instead would make depths 2-4 much longer (13.4, 20.7, 28.8).
        var forced = new DccgListOpsRecipe().GenerateDepth(3, 3, 2_000, 10, 50, 9);
        Assert.True(forced.Average(e => e.Length) > published[2] + 2);
    }

    [Fact]
    public void Extrapolation_sets_have_their_depth_and_the_length_window()
    {
        var data = (Small with { ExtrapolationDepths = new[] { 8 }, ExtrapolationCount = 200, ExtrapolationMaxLength = 60 }).Generate(8);
        var set = data.Extrapolation[8];
        Assert.Equal(200, set.Count);
        Assert.All(set, e => Assert.Equal(8, e.Depth));
        Assert.All(set, e => Assert.InRange(e.Length, 25, 60)); // depth 8 needs at least 3 * 8 + 1 tokens
        Assert.Contains(set, e => e.Length > 50);
    }

    [Fact]
    public void Asking_for_more_distinct_trees_than_exist_fails_clearly()
    {
        // Only 3 * 10 * 10 = 300 distinct depth-1 trees of 4 tokens exist.
        var recipe = new DccgListOpsRecipe { MinDepth = 1, MaxDepth = 1, MaxLength = 4, TrainPerDepth = 301, DevPerDepth = 0, TestPerDepth = 0, ExtrapolationDepths = Array.Empty<int>() };
        var e = Assert.Throws<InvalidOperationException>(() => recipe.Generate(1));
        Assert.Contains("only 300 of 301 distinct depth-1 trees", e.Message);
    }

    [Fact]
    public void Nangia_bowman_recipe_has_all_operators_bounded_depth_and_short_sequences()
    {
        var recipe = new NangiaBowmanListOpsRecipe { TrainCount = 3_000, DevCount = 300, TestCount = 700 };
        var data = recipe.Generate(9);
        Assert.Equal((3_000, 300, 700), (data.Train.Count, data.Dev.Count, data.Test.Count));
        Assert.Empty(data.Extrapolation);
        var all = data.All.ToList();
        Assert.Equal(all.Count, all.Select(e => e.Expression).Distinct(StringComparer.Ordinal).Count());
        var used = new HashSet<int>();
        foreach (var e in all)
        {
            Assert.InRange(e.Depth, 1, 19);
            Assert.InRange(e.Length, 4, 99);
            Assert.True(recipe.CountedLength(e) <= 99);
            for (int i = 0; i < e.Length; i++)
                if (e.IsOperatorToken(i))
                {
                    used.Add(e.Tokens[i]);
                    Assert.InRange(e.ArgumentCount(i), 2, 5);
                }
        }
        Assert.Equal(new[] { ListOpsVocabulary.Min, ListOpsVocabulary.Max, ListOpsVocabulary.Med, ListOpsVocabulary.SumMod }, used.Order());
        Assert.True(all.Max(e => e.Depth) >= 6);
    }

    [Fact]
    public void Nangia_bowman_length_counts_operators_twice_as_reinmax_loader_does()
    {
        var recipe = new NangiaBowmanListOpsRecipe();
        var e = ListOpsExample.Parse("[MAX 2 9 [MIN 4 7 ] 0 ]"); // 9 tokens, 2 operators: "[ MAX 2 9 [ MIN 4 7 ] 0 ]"
        Assert.Equal(11, recipe.CountedLength(e));
        Assert.Equal(9, (recipe with { CountOperatorsTwice = false }).CountedLength(e));
        var plain = (recipe with { CountOperatorsTwice = false, TrainCount = 3_000, TestCount = 0 }).Generate(2);
        Assert.All(plain.Train, x => Assert.InRange(x.Length, 4, 99));
        Assert.Contains(plain.Train, x => recipe.CountedLength(x) > 99);
    }

    [Fact]
    public void Nangia_bowman_generation_is_deterministic_per_seed_and_seeds_differ()
    {
        var recipe = new NangiaBowmanListOpsRecipe { TrainCount = 500, TestCount = 100 };
        Assert.Equal(recipe.Generate(1).All.Select(e => e.Expression), recipe.Generate(1).All.Select(e => e.Expression));
        Assert.NotEqual(recipe.Generate(1).Train.Select(e => e.Expression), recipe.Generate(2).Train.Select(e => e.Expression));
        var defaults = new NangiaBowmanListOpsRecipe();
        Assert.Equal((90_000, 0, 10_000, 99), (defaults.TrainCount, defaults.DevCount, defaults.TestCount, defaults.MaxLength));
        Assert.Equal(20, defaults.Generator.ForcedLeafLevel);
        Assert.Equal(4, defaults.Generator.Operators.Count);
    }
}
