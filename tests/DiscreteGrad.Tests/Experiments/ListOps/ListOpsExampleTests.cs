using DiscreteGrad.Experiments.ListOps;

namespace DiscreteGrad.Tests.Experiments.ListOps;

public sealed class ListOpsExampleTests
{
    [Theory]
    // MED of an even count: the mean of the two middle values, truncated (Python's int(np.median(...))).
    [InlineData("[MED 3 6 0 6 ]", 4)]      // 0 3 6 6 -> (3 + 6) / 2 = 4.5 -> 4
    [InlineData("[MED 2 6 6 1 ]", 4)]      // 1 2 6 6 -> (2 + 6) / 2 = 4
    [InlineData("[MED 1 2 ]", 1)]          // 1.5 -> 1
    [InlineData("[MED 9 8 ]", 8)]          // 8.5 -> 8
    [InlineData("[MED 0 9 ]", 4)]          // 4.5 -> 4
    [InlineData("[MED 7 7 2 2 ]", 4)]      // 2 2 7 7 -> 4.5 -> 4
    [InlineData("[MED 5 1 9 ]", 5)]        // odd count: the middle value
    [InlineData("[MED 3 1 4 1 5 ]", 3)]    // 1 1 3 4 5 -> 3
    // SM: sum mod 10.
    [InlineData("[SM 9 8 7 ]", 4)]         // 24 mod 10
    [InlineData("[SM 5 5 ]", 0)]
    [InlineData("[SM 1 2 3 4 5 ]", 5)]     // 15 mod 10
    [InlineData("[MIN 4 2 8 ]", 2)]
    [InlineData("[MAX 4 2 8 ]", 8)]
    // Nesting.
    [InlineData("[MAX 2 9 [MIN 4 7 ] 0 ]", 9)]
    [InlineData("[MIN [MAX 3 8 ] [SM 5 6 ] [MED 2 7 9 9 ] ]", 1)]       // MIN(8, 11 mod 10 = 1, (7 + 9) / 2 = 8)
    [InlineData("[SM [MED 1 2 3 4 ] [SM 9 9 ] 7 ]", 7)]                 // (2 + 8 + 7) mod 10, MED 1 2 3 4 = 2
    [InlineData("[MED [MIN 9 [MAX 1 2 ] ] 5 [SM 4 4 4 ] 6 ]", 3)]       // MED(2, 5, 2, 6) = (2 + 5) / 2 = 3
    [InlineData("7", 7)]
    public void Evaluator_gives_hand_computed_values(string expression, int value)
    {
        Assert.Equal(value, ListOpsEvaluator.Evaluate(expression));
        Assert.Equal(value, ListOpsExample.Parse(expression).Target);
    }

    [Fact]
    public void Median_matches_numpy_rounding_on_every_list_drawn()
    {
        var random = new ListOpsRandom(5);
        for (int trial = 0; trial < 20_000; trial++)
        {
            var args = new int[1 + random.NextInt(5)];
            for (int i = 0; i < args.Length; i++) args[i] = random.NextInt(10);
            var sorted = args.OrderBy(a => a).ToArray();
            int n = sorted.Length;
            // numpy's median as a double, then int() truncates toward zero.
            double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
            Assert.Equal((int)Math.Truncate(median), ListOpsEvaluator.Apply(ListOpsOperator.Med, args));
            Assert.Equal(args.Sum() % 10, ListOpsEvaluator.Apply(ListOpsOperator.SumMod, args));
            Assert.Equal(args.Min(), ListOpsEvaluator.Apply(ListOpsOperator.Min, args));
            Assert.Equal(args.Max(), ListOpsEvaluator.Apply(ListOpsOperator.Max, args));
        }
    }

    [Fact]
    public void Evaluator_rejects_empty_lists_and_non_digits()
    {
        Assert.Throws<ArgumentException>(() => ListOpsEvaluator.Apply(ListOpsOperator.Min, ReadOnlySpan<int>.Empty));
        Assert.Throws<ArgumentException>(() => ListOpsEvaluator.Apply(ListOpsOperator.SumMod, new[] { 3, 10 }));
        Assert.Throws<ArgumentException>(() => ListOpsEvaluator.Apply(ListOpsOperator.Max, new[] { -1 }));
    }

    [Fact]
    public void Parents_and_values_of_a_two_level_expression()
    {
        // tokens:  0 [MAX  1 9  2 3  3 0  4 [MED  5 7  6 9  7 5  8 ]  9 ]
        var e = ListOpsExample.Parse("[MAX 9 3 0 [MED 7 9 5 ] ]");
        Assert.Equal(10, e.Length);
        Assert.Equal(9, e.Target);
        Assert.Equal(2, e.Depth);
        Assert.Equal(new[] { -1, 0, 0, 0, 0, 4, 4, 4, 4, 0 }, e.Parents);
        Assert.Equal(new[] { 9, 9, 3, 0, 7, 7, 9, 5, -1, -1 }, e.Values);
        Assert.Equal(new[] { 2, 13, 7, 4, 3, 11, 13, 9, 0, 0 }, e.Tokens);
        Assert.Equal(new[] { true, false, false, false, true, false, false, false, false, false },
            Enumerable.Range(0, e.Length).Select(e.IsOperatorToken));
        Assert.Equal(4, e.ArgumentCount(0));
        Assert.Equal(3, e.ArgumentCount(4));
    }

    [Fact]
    public void Parents_and_values_of_siblings_and_of_a_three_level_chain()
    {
        // 0 [MIN  1 [MAX  2 3  3 8  4 ]  5 [SM  6 5  7 6  8 ]  9 4  10 ]
        var siblings = ListOpsExample.Parse("[MIN [MAX 3 8 ] [SM 5 6 ] 4 ]");
        Assert.Equal(new[] { -1, 0, 1, 1, 1, 0, 5, 5, 5, 0, 0 }, siblings.Parents);
        Assert.Equal(new[] { 1, 8, 3, 8, -1, 1, 5, 6, -1, 4, -1 }, siblings.Values); // MIN(8, 11 mod 10, 4) = 1
        Assert.Equal(2, siblings.Depth);
        Assert.Equal(3, siblings.ArgumentCount(0));

        // 0 [SM  1 [MED  2 [MIN  3 1  4 2  5 ]  6 3  7 ]  8 4  9 ]
        var chain = ListOpsExample.Parse("[SM [MED [MIN 1 2 ] 3 ] 4 ]");
        Assert.Equal(new[] { -1, 0, 1, 2, 2, 2, 1, 1, 0, 0 }, chain.Parents);
        Assert.Equal(new[] { 6, 2, 1, 1, 2, -1, 3, -1, 4, -1 }, chain.Values); // MIN 1, MED(1, 3) = 2, SM(2, 4) = 6
        Assert.Equal(3, chain.Depth);

        var digit = ListOpsExample.Parse("7");
        Assert.Equal(new[] { -1 }, digit.Parents);
        Assert.Equal(new[] { 7 }, digit.Values);
        Assert.Equal(0, digit.Depth);
    }

    [Fact]
    public void Parentheses_are_dropped_and_token_ids_round_trip()
    {
        var plain = ListOpsExample.Parse("[MAX 2 [MIN 4 7 ] 0 ]");
        var binarised = ListOpsExample.Parse("( ( ( ( [MAX 2 ) ( ( ( [MIN 4 ) 7 ) ] ) ) 0 ) ] )");
        Assert.Equal(plain, binarised);
        Assert.Equal("[MAX 2 [MIN 4 7 ] 0 ]", binarised.Expression);
        Assert.Equal(plain, ListOpsExample.FromTokens(plain.Tokens.ToArray()));
        Assert.Equal(plain, ListOpsExample.Parse("  [MAX\t2 [MIN 4   7 ] 0 ]\n"));
        Assert.NotEqual(plain, ListOpsExample.Parse("[MAX 2 [MIN 4 7 ] 1 ]"));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("( )", "empty")]
    [InlineData("[MIN 1 [FOO 2 ] ]", "unknown token '[FOO' at token index 2")]
    [InlineData("[min 1 2 ]", "unknown token '[min'")]
    [InlineData("[MIN 1 12 ]", "unknown token '12'")]
    [InlineData("[MIN 1 [MAX 2 3 ]", "'[MIN' at token index 0 is never closed")]
    [InlineData("[MIN 1 2 ] ]", "follows the end of the expression")]
    [InlineData("] 1", "closes no operator")]
    [InlineData("[MIN ]", "has no arguments")]
    [InlineData("3 4", "follows the end of the expression")]
    public void Malformed_expressions_throw_argument_exceptions_naming_the_problem(string expression, string problem)
    {
        var e = Assert.Throws<ArgumentException>(() => ListOpsExample.Parse(expression));
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void FromTokens_rejects_ids_that_are_not_tokens()
    {
        var e = Assert.Throws<ArgumentException>(() => ListOpsExample.FromTokens(new[] { ListOpsVocabulary.Min, 4, ListOpsVocabulary.Pad, 0 }));
        Assert.Contains("token id 15 at token index 2", e.Message);
    }

    [Fact]
    public void Vocabulary_ids_are_the_dccg_ids()
    {
        string[] dccg = { "]", "[MIN", "[MAX", "[MED", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9" };
        for (int id = 0; id < dccg.Length; id++)
        {
            Assert.Equal(dccg[id], ListOpsVocabulary.Text(id));
            Assert.True(ListOpsVocabulary.TryParse(dccg[id], out int back));
            Assert.Equal(id, back);
        }
        Assert.Equal(ListOpsVocabulary.DccgSize, dccg.Length);
        Assert.Equal("[SM", ListOpsVocabulary.Text(ListOpsVocabulary.SumMod));
        Assert.False(ListOpsVocabulary.TryParse("<pad>", out _));
        Assert.Equal(ListOpsVocabulary.Size, ListOpsVocabulary.Pad + 1);
    }
}
