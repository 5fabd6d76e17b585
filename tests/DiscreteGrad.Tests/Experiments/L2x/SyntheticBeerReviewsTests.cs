using DiscreteGrad.Experiments.L2x;

namespace DiscreteGrad.Tests.Experiments.L2x;

/// <summary>The synthetic beer reviews: determinism per seed, the rationale, the ratings and their correlation.</summary>
public sealed class SyntheticBeerReviewsTests
{
    private static readonly L2xAspect[] Aspects = Enum.GetValues<L2xAspect>();

    [Fact]
    public void The_same_seed_and_split_give_the_same_reviews_and_another_seed_or_split_others()
    {
        var a = SyntheticBeerReviews.Generate(L2xSplit.Train, 50, 80, 0.5, 7);
        var b = SyntheticBeerReviews.Generate(L2xSplit.Train, 50, 80, 0.5, 7);
        Assert.Equal(a.Tokens.ToArray(), b.Tokens.ToArray());
        Assert.Equal(Levels(a), Levels(b));
        Assert.Equal(Kinds(a), Kinds(b));
        var other = SyntheticBeerReviews.Generate(L2xSplit.Train, 50, 80, 0.5, 8);
        var test = SyntheticBeerReviews.Generate(L2xSplit.Test, 50, 80, 0.5, 7);
        Assert.NotEqual(a.Tokens.ToArray(), other.Tokens.ToArray());
        Assert.NotEqual(a.Tokens.ToArray(), test.Tokens.ToArray());
        Assert.Equal(50 * 80, a.Tokens.Length);
    }

    [Fact]
    public void The_rationale_of_an_aspect_is_exactly_its_one_sentence()
    {
        var r = SyntheticBeerReviews.Generate(L2xSplit.Train, 300, 70, 0.5, 3);
        for (int i = 0; i < r.Count; i++)
            foreach (var aspect in Aspects)
            {
                var positions = Enumerable.Range(0, r.Length).Where(t => r.InRationale(i, t, aspect)).ToList();
                // One contiguous run of 8..14 tokens that ends with the full stop and holds no other full stop.
                Assert.InRange(positions.Count, SyntheticBeerReviews.MinSentence, SyntheticBeerReviews.MaxSentence);
                Assert.Equal(Enumerable.Range(positions[0], positions.Count), positions);
                Assert.Equal(BeerReviewVocabulary.FullStop, r.Token(i, positions[^1]));
                Assert.True(positions[0] == 0 || r.Token(i, positions[0] - 1) == BeerReviewVocabulary.FullStop);
                Assert.Single(positions, t => r.Token(i, t) == BeerReviewVocabulary.FullStop);
                // Every noun and sentiment word of the aspect is inside it, and nothing of another kind is.
                var nouns = BeerReviewVocabulary.NounsOf((int)aspect);
                for (int t = 0; t < r.Length; t++)
                {
                    int token = r.Token(i, t);
                    bool ofAspect = nouns.Contains(token) || BeerReviewVocabulary.SentimentOfToken(token).Kind == (int)aspect;
                    if (ofAspect) Assert.True(r.InRationale(i, t, aspect));
                    if (r.InRationale(i, t, aspect))
                    {
                        var (kind, _) = BeerReviewVocabulary.SentimentOfToken(token);
                        Assert.True(kind == -1 || kind == (int)aspect);
                        Assert.True(BeerReviewVocabulary.Function.Contains(token) || nouns.Contains(token) || kind == (int)aspect || token == BeerReviewVocabulary.FullStop);
                    }
                }
            }
        // The tensors of L2xData carry the same rationale.
        var config = new L2xConfig { TrainReviews = 20, TestReviews = 10, Length = 70, DataSeed = 3, Aspect = L2xAspect.Palate };
        using var data = new L2xData(config);
        var rationale = data.TestRationale.data<float>().ToArray();
        for (int i = 0; i < 10; i++)
            for (int t = 0; t < 70; t++)
                Assert.Equal(data.TestReviews.InRationale(i, t, L2xAspect.Palate) ? 1f : 0f, rationale[i * 70 + t]);
    }

    [Fact]
    public void The_rating_of_an_aspect_is_the_level_of_the_sentiment_words_in_its_sentence()
    {
        var r = SyntheticBeerReviews.Generate(L2xSplit.Test, 500, 80, 0.3, 11);
        for (int i = 0; i < r.Count; i++)
            foreach (var aspect in Aspects)
            {
                var levels = Enumerable.Range(0, r.Length).Select(t => BeerReviewVocabulary.SentimentOfToken(r.Token(i, t)))
                    .Where(x => x.Kind == (int)aspect).Select(x => x.Level).ToList();
                Assert.InRange(levels.Count, 1, 3);
                int level = Assert.Single(levels.Distinct());
                Assert.Equal(level / 4.0, r.Rating(i, aspect));
            }
        // Each level of each aspect occurs (the decoder from words to ratings is exercised on all of them).
        foreach (var aspect in Aspects)
            Assert.Equal(new[] { 0.0, 0.25, 0.5, 0.75, 1.0 }, Enumerable.Range(0, r.Count).Select(i => r.Rating(i, aspect)).Distinct().Order());
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(0.8)]
    public void Ratings_of_two_aspects_have_the_configured_correlation_and_uniform_levels(double rho)
    {
        const int n = 20_000;
        var r = SyntheticBeerReviews.Generate(L2xSplit.Train, n, 60, rho, 5);
        // Standard error of Pearson's r: (1 - rho^2) / sqrt(n); tolerance 4 standard errors.
        double tolerance = 4 * Math.Max(1 - rho * rho, 0.05) / Math.Sqrt(n);
        for (int a = 0; a < BeerReviewVocabulary.Kinds; a++)
            for (int b = a + 1; b < BeerReviewVocabulary.Kinds; b++)
                Assert.InRange(Pearson(Enumerable.Range(0, n).Select(i => (double)r.Level(i, a)).ToArray(),
                    Enumerable.Range(0, n).Select(i => (double)r.Level(i, b)).ToArray()), rho - tolerance, rho + tolerance);
        // Each level has probability 1/5: binomial standard error sqrt(0.2 * 0.8 / n), 4 of them.
        for (int l = 0; l < BeerReviewVocabulary.Levels; l++)
            Assert.InRange(Enumerable.Range(0, n).Count(i => r.Level(i, (int)L2xAspect.Aroma) == l) / (double)n, 0.2 - 4 * Math.Sqrt(0.16 / n), 0.2 + 4 * Math.Sqrt(0.16 / n));
    }

    [Fact]
    public void Bad_arguments_are_refused_naming_the_parameter()
    {
        Assert.Equal("length", Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticBeerReviews.Generate(L2xSplit.Train, 5, 56, 0.5, 1)).ParamName);
        Assert.Equal("correlation", Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticBeerReviews.Generate(L2xSplit.Train, 5, 80, 1.5, 1)).ParamName);
        Assert.Equal("correlation", Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticBeerReviews.Generate(L2xSplit.Train, 5, 80, double.NaN, 1)).ParamName);
        Assert.Equal("seed", Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticBeerReviews.Generate(L2xSplit.Train, 5, 80, 0.5, -1)).ParamName);
        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticBeerReviews.Generate(L2xSplit.Train, 0, 80, 0.5, 1)).ParamName);
    }

    private static int[] Levels(SyntheticBeerReviews r) =>
        Enumerable.Range(0, r.Count).SelectMany(i => Enumerable.Range(0, BeerReviewVocabulary.Kinds).Select(c => r.Level(i, c))).ToArray();

    private static int[] Kinds(SyntheticBeerReviews r) =>
        Enumerable.Range(0, r.Count).SelectMany(i => Enumerable.Range(0, r.Length).Select(t => r.KindAt(i, t))).ToArray();

    private static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Length; i++) { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) * (x[i] - mx); syy += (y[i] - my) * (y[i] - my); }
        return sxy / Math.Sqrt(sxx * syy);
    }
}
