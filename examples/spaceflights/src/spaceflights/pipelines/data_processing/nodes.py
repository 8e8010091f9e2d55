"""Nodes of the data_processing pipeline."""

import pandas as pd


def _is_true(x: pd.Series) -> pd.Series:
    return x == "t"


def _parse_percentage(x: pd.Series) -> pd.Series:
    return x.str.replace("%", "", regex=False).astype(float) / 100


def _parse_money(x: pd.Series) -> pd.Series:
    return x.str.replace("$", "", regex=False).str.replace(",", "", regex=False).astype(float)


def preprocess_companies(companies: pd.DataFrame) -> pd.DataFrame:
    """Turn ``iata_approved`` into booleans and ``company_rating`` into fractions."""
    return companies.assign(
        iata_approved=_is_true(companies["iata_approved"]),
        company_rating=_parse_percentage(companies["company_rating"]),
    )


def preprocess_shuttles(shuttles: pd.DataFrame) -> pd.DataFrame:
    """Turn the check flags into booleans and ``price`` into a float."""
    return shuttles.assign(
        d_check_complete=_is_true(shuttles["d_check_complete"]),
        moon_clearance_complete=_is_true(shuttles["moon_clearance_complete"]),
        price=_parse_money(shuttles["price"]),
    )


def create_model_input_table(
    shuttles: pd.DataFrame, companies: pd.DataFrame, reviews: pd.DataFrame
) -> pd.DataFrame:
    """Join shuttles with their reviews and companies; drop incomplete rows."""
    rated_shuttles = shuttles.merge(reviews, left_on="id", right_on="shuttle_id")
    rated_shuttles = rated_shuttles.drop(columns="id")
    model_input_table = rated_shuttles.merge(companies, left_on="company_id", right_on="id")
    return model_input_table.dropna().reset_index(drop=True)
